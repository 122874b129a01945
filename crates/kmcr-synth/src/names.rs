//! Names of the synthetic population: given names by heritage (and, for English names, by birth cohort) and surnames
//! with weights that follow their real frequency in England and Wales, so that Smith and Jones are common.

use crate::rng::Rng;

/// A naming tradition; the shares roughly follow Kent and Medway (Nepali names for the Gurkha communities of
/// Folkestone and Ashford, Polish and other Eastern European names, West African names in Medway).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Heritage {
    English,
    Scottish,
    Welsh,
    Irish,
    SouthAsian,
    Nepali,
    Polish,
    EasternEuropean,
    WestAfrican,
    Chinese,
}

pub(crate) const HERITAGES: &[(Heritage, u32)] = &[
    (Heritage::English, 760),
    (Heritage::Scottish, 35),
    (Heritage::Welsh, 25),
    (Heritage::Irish, 30),
    (Heritage::SouthAsian, 45),
    (Heritage::Nepali, 10),
    (Heritage::Polish, 30),
    (Heritage::EasternEuropean, 25),
    (Heritage::WestAfrican, 30),
    (Heritage::Chinese, 10),
];

/// A surname, with its feminine form where the language has one (Polish -ska, Bulgarian -ova).
type Surname = (&'static str, &'static str);

/// Picks a surname for a person of the given heritage and sex.
pub(crate) fn surname(rng: &mut Rng, heritage: Heritage, female: bool) -> &'static str {
    let table: &[(Surname, u32)] = match heritage {
        Heritage::English => ENGLISH_SURNAMES,
        Heritage::Scottish => SCOTTISH_SURNAMES,
        Heritage::Welsh => WELSH_SURNAMES,
        Heritage::Irish => IRISH_SURNAMES,
        Heritage::SouthAsian => return south_asian_surname(rng, female),
        Heritage::Nepali => NEPALI_SURNAMES,
        Heritage::Polish => POLISH_SURNAMES,
        Heritage::EasternEuropean => EASTERN_EUROPEAN_SURNAMES,
        Heritage::WestAfrican => WEST_AFRICAN_SURNAMES,
        Heritage::Chinese => CHINESE_SURNAMES,
    };
    let (masculine, feminine) = *rng.weighted(table);
    if female { feminine } else { masculine }
}

/// Sikh family names follow sex (Singh, Kaur), as do Begum and Bibi for Bangladeshi and Pakistani women.
fn south_asian_surname(rng: &mut Rng, female: bool) -> &'static str {
    loop {
        let &(name, sex) = rng.weighted(SOUTH_ASIAN_SURNAMES);
        match sex {
            Sex::Any => return name,
            Sex::Male if !female => return name,
            Sex::Female if female => return name,
            _ => {}
        }
    }
}

/// Picks a given name; English names follow the fashion of the birth year.
pub(crate) fn given_name(rng: &mut Rng, heritage: Heritage, female: bool, birth_year: i32) -> &'static str {
    let (male, women) = match heritage {
        Heritage::English => match birth_year {
            ..=1949 => (ENGLISH_MALE_BEFORE_1950, ENGLISH_FEMALE_BEFORE_1950),
            1950..=1979 => (ENGLISH_MALE_1950S_TO_70S, ENGLISH_FEMALE_1950S_TO_70S),
            1980..=1999 => (ENGLISH_MALE_1980S_TO_90S, ENGLISH_FEMALE_1980S_TO_90S),
            _ => (ENGLISH_MALE_SINCE_2000, ENGLISH_FEMALE_SINCE_2000),
        },
        Heritage::Scottish => (SCOTTISH_MALE, SCOTTISH_FEMALE),
        Heritage::Welsh => (WELSH_MALE, WELSH_FEMALE),
        Heritage::Irish => (IRISH_MALE, IRISH_FEMALE),
        Heritage::SouthAsian => (SOUTH_ASIAN_MALE, SOUTH_ASIAN_FEMALE),
        Heritage::Nepali => (NEPALI_MALE, NEPALI_FEMALE),
        Heritage::Polish => (POLISH_MALE, POLISH_FEMALE),
        Heritage::EasternEuropean => (EASTERN_EUROPEAN_MALE, EASTERN_EUROPEAN_FEMALE),
        Heritage::WestAfrican => (WEST_AFRICAN_MALE, WEST_AFRICAN_FEMALE),
        Heritage::Chinese => (CHINESE_MALE, CHINESE_FEMALE),
    };
    *rng.pick(if female { women } else { male })
}

#[derive(Clone, Copy)]
enum Sex {
    Any,
    Male,
    Female,
}

/// Weights are people per 10,000 of the English-heritage population (after ONS surname counts).
const ENGLISH_SURNAMES: &[(Surname, u32)] = &[
    (("Smith", "Smith"), 126),
    (("Jones", "Jones"), 75),
    (("Williams", "Williams"), 60),
    (("Taylor", "Taylor"), 60),
    (("Brown", "Brown"), 57),
    (("Davies", "Davies"), 48),
    (("Wilson", "Wilson"), 36),
    (("Evans", "Evans"), 35),
    (("Thomas", "Thomas"), 33),
    (("Johnson", "Johnson"), 33),
    (("Roberts", "Roberts"), 31),
    (("Robinson", "Robinson"), 26),
    (("Thompson", "Thompson"), 26),
    (("Wright", "Wright"), 26),
    (("Walker", "Walker"), 25),
    (("White", "White"), 25),
    (("Edwards", "Edwards"), 23),
    (("Hughes", "Hughes"), 23),
    (("Green", "Green"), 23),
    (("Hall", "Hall"), 22),
    (("Lewis", "Lewis"), 21),
    (("Harris", "Harris"), 21),
    (("Clarke", "Clarke"), 20),
    (("Jackson", "Jackson"), 20),
    (("Wood", "Wood"), 19),
    (("Turner", "Turner"), 18),
    (("Martin", "Martin"), 18),
    (("Cooper", "Cooper"), 18),
    (("Hill", "Hill"), 18),
    (("Ward", "Ward"), 17),
    (("Morris", "Morris"), 17),
    (("Moore", "Moore"), 17),
    (("Clark", "Clark"), 16),
    (("Lee", "Lee"), 16),
    (("King", "King"), 16),
    (("Baker", "Baker"), 16),
    (("Harrison", "Harrison"), 16),
    (("Morgan", "Morgan"), 15),
    (("Allen", "Allen"), 15),
    (("James", "James"), 15),
    (("Scott", "Scott"), 15),
    (("Phillips", "Phillips"), 14),
    (("Watson", "Watson"), 14),
    (("Davis", "Davis"), 14),
    (("Parker", "Parker"), 14),
    (("Price", "Price"), 13),
    (("Bennett", "Bennett"), 13),
    (("Young", "Young"), 13),
    (("Griffiths", "Griffiths"), 13),
    (("Mitchell", "Mitchell"), 13),
    (("Kelly", "Kelly"), 13),
    (("Cook", "Cook"), 13),
    (("Carter", "Carter"), 12),
    (("Richardson", "Richardson"), 12),
    (("Bailey", "Bailey"), 12),
    (("Collins", "Collins"), 12),
    (("Bell", "Bell"), 12),
    (("Shaw", "Shaw"), 12),
    (("Miller", "Miller"), 11),
    (("Cox", "Cox"), 11),
    (("Richards", "Richards"), 11),
    (("Marshall", "Marshall"), 11),
    (("Anderson", "Anderson"), 11),
    (("Simpson", "Simpson"), 10),
    (("Ellis", "Ellis"), 10),
    (("Adams", "Adams"), 10),
    (("Wilkinson", "Wilkinson"), 10),
    (("Foster", "Foster"), 10),
    (("Chapman", "Chapman"), 10),
    (("Powell", "Powell"), 10),
    (("Webb", "Webb"), 10),
    (("Rogers", "Rogers"), 10),
    (("Gray", "Gray"), 10),
    (("Mason", "Mason"), 10),
    (("Hunt", "Hunt"), 9),
    (("Matthews", "Matthews"), 9),
    (("Owen", "Owen"), 9),
    (("Palmer", "Palmer"), 9),
    (("Holmes", "Holmes"), 9),
    (("Mills", "Mills"), 9),
    (("Barnes", "Barnes"), 9),
    (("Knight", "Knight"), 9),
    (("Lloyd", "Lloyd"), 9),
    (("Butler", "Butler"), 9),
    (("Russell", "Russell"), 9),
    (("Barker", "Barker"), 9),
    (("Fisher", "Fisher"), 9),
    (("Stevens", "Stevens"), 9),
    (("Jenkins", "Jenkins"), 9),
    (("Dixon", "Dixon"), 8),
    (("Harvey", "Harvey"), 8),
    (("Graham", "Graham"), 8),
    (("Pearson", "Pearson"), 8),
    (("Fletcher", "Fletcher"), 8),
    (("Gibson", "Gibson"), 8),
    (("Howard", "Howard"), 8),
    (("Andrews", "Andrews"), 8),
    (("Elliott", "Elliott"), 8),
    (("Reynolds", "Reynolds"), 8),
    (("Saunders", "Saunders"), 8),
    (("Payne", "Payne"), 8),
    (("Fox", "Fox"), 8),
    (("Ford", "Ford"), 8),
    (("Pearce", "Pearce"), 8),
    (("Day", "Day"), 7),
    (("Brooks", "Brooks"), 7),
    (("West", "West"), 7),
    (("Lawrence", "Lawrence"), 7),
    (("Cole", "Cole"), 7),
    (("Atkinson", "Atkinson"), 7),
    (("Bradley", "Bradley"), 7),
    (("Spencer", "Spencer"), 7),
    (("Gill", "Gill"), 7),
    (("Dawson", "Dawson"), 7),
    (("Ball", "Ball"), 7),
    (("Burton", "Burton"), 7),
    (("Watts", "Watts"), 7),
    (("Rose", "Rose"), 7),
    (("Booth", "Booth"), 7),
    (("Perry", "Perry"), 7),
    (("Grant", "Grant"), 7),
    (("Wells", "Wells"), 7),
    (("Armstrong", "Armstrong"), 7),
    (("Francis", "Francis"), 7),
    (("Hayes", "Hayes"), 7),
    (("Hart", "Hart"), 7),
    (("Hudson", "Hudson"), 7),
    (("Newman", "Newman"), 7),
    (("Barrett", "Barrett"), 7),
    (("Webster", "Webster"), 7),
    (("Hunter", "Hunter"), 7),
    (("Gregory", "Gregory"), 7),
    (("Carr", "Carr"), 7),
    (("Lowe", "Lowe"), 7),
    (("Page", "Page"), 7),
    (("Marsh", "Marsh"), 7),
    (("Riley", "Riley"), 7),
    (("Dunn", "Dunn"), 7),
    (("Woods", "Woods"), 7),
    (("Parsons", "Parsons"), 6),
    (("Berry", "Berry"), 6),
    (("Stone", "Stone"), 6),
    (("Holland", "Holland"), 6),
    (("Hawkins", "Hawkins"), 6),
    (("Harding", "Harding"), 6),
    (("Porter", "Porter"), 6),
    (("Newton", "Newton"), 6),
    (("Oliver", "Oliver"), 6),
    (("Reed", "Reed"), 6),
    (("Williamson", "Williamson"), 6),
    (("Bird", "Bird"), 6),
    (("Gardner", "Gardner"), 6),
    (("Dean", "Dean"), 6),
    (("Lane", "Lane"), 6),
    (("Cooke", "Cooke"), 6),
    (("Bates", "Bates"), 6),
    (("Parry", "Parry"), 6),
    (("Burgess", "Burgess"), 6),
    (("Bishop", "Bishop"), 6),
    (("Walton", "Walton"), 6),
    (("Nicholson", "Nicholson"), 6),
    (("Shepherd", "Shepherd"), 6),
    (("Cross", "Cross"), 6),
    (("Long", "Long"), 6),
    (("Freeman", "Freeman"), 6),
    (("Warren", "Warren"), 6),
    (("Nicholls", "Nicholls"), 6),
    (("Sutton", "Sutton"), 6),
    (("Yates", "Yates"), 6),
    (("Curtis", "Curtis"), 6),
    (("Hopkins", "Hopkins"), 6),
    (("Harper", "Harper"), 6),
    (("Coleman", "Coleman"), 6),
    (("Watkins", "Watkins"), 6),
    (("Moss", "Moss"), 6),
    (("Chambers", "Chambers"), 6),
    (("Griffin", "Griffin"), 6),
    (("Sharp", "Sharp"), 6),
    (("Hardy", "Hardy"), 6),
    (("Wheeler", "Wheeler"), 6),
    (("Potter", "Potter"), 6),
    (("Osborne", "Osborne"), 6),
    (("Jordan", "Jordan"), 6),
    (("Rowe", "Rowe"), 6),
    (("May", "May"), 5),
    (("Gilbert", "Gilbert"), 5),
    (("Willis", "Willis"), 5),
    (("Miles", "Miles"), 5),
    (("Hammond", "Hammond"), 5),
    (("Arnold", "Arnold"), 5),
    (("Hewitt", "Hewitt"), 5),
    (("Barber", "Barber"), 5),
    (("Austin", "Austin"), 5),
    (("Mann", "Mann"), 5),
    (("Frost", "Frost"), 5),
    (("Lambert", "Lambert"), 5),
    (("Blake", "Blake"), 5),
    (("Goodwin", "Goodwin"), 5),
    (("Barton", "Barton"), 5),
    (("Woodward", "Woodward"), 5),
    (("Baxter", "Baxter"), 5),
    (("Clayton", "Clayton"), 5),
    (("Nash", "Nash"), 5),
    (("Jennings", "Jennings"), 5),
    (("Kemp", "Kemp"), 5),
    (("Poole", "Poole"), 5),
    (("Tucker", "Tucker"), 5),
    (("Fowler", "Fowler"), 5),
    (("Heath", "Heath"), 5),
    (("Norman", "Norman"), 5),
    (("Lawson", "Lawson"), 5),
    (("French", "French"), 5),
    (("Jarvis", "Jarvis"), 5),
    (("Hayward", "Hayward"), 5),
    (("Todd", "Todd"), 5),
    (("Peters", "Peters"), 5),
    (("Lucas", "Lucas"), 5),
    (("Hartley", "Hartley"), 5),
    (("Norris", "Norris"), 5),
    (("Townsend", "Townsend"), 5),
    (("Preston", "Preston"), 5),
    (("Baldwin", "Baldwin"), 5),
    (("Dyer", "Dyer"), 5),
    (("Fuller", "Fuller"), 5),
    (("Pilcher", "Pilcher"), 3),
    (("Tong", "Tong"), 2),
    (("Wraight", "Wraight"), 2),
    (("Godden", "Godden"), 2),
    (("Hogben", "Hogben"), 2),
];

const SCOTTISH_SURNAMES: &[(Surname, u32)] = &[
    (("Campbell", "Campbell"), 10),
    (("Stewart", "Stewart"), 10),
    (("Robertson", "Robertson"), 9),
    (("MacDonald", "MacDonald"), 9),
    (("Murray", "Murray"), 8),
    (("Reid", "Reid"), 8),
    (("Ross", "Ross"), 7),
    (("Fraser", "Fraser"), 7),
    (("Cameron", "Cameron"), 6),
    (("Henderson", "Henderson"), 6),
    (("Mackenzie", "Mackenzie"), 6),
    (("Paterson", "Paterson"), 5),
    (("Ferguson", "Ferguson"), 5),
    (("Morrison", "Morrison"), 5),
    (("Hamilton", "Hamilton"), 5),
    (("Johnston", "Johnston"), 5),
    (("Kerr", "Kerr"), 4),
    (("Grant", "Grant"), 4),
    (("Mackay", "Mackay"), 4),
    (("McLean", "McLean"), 4),
    (("Sinclair", "Sinclair"), 3),
    (("Munro", "Munro"), 3),
    (("Buchanan", "Buchanan"), 3),
    (("Macleod", "Macleod"), 3),
    (("Wallace", "Wallace"), 3),
];

const WELSH_SURNAMES: &[(Surname, u32)] = &[
    (("Jones", "Jones"), 20),
    (("Williams", "Williams"), 15),
    (("Davies", "Davies"), 14),
    (("Evans", "Evans"), 10),
    (("Thomas", "Thomas"), 9),
    (("Roberts", "Roberts"), 7),
    (("Hughes", "Hughes"), 6),
    (("Lewis", "Lewis"), 6),
    (("Morgan", "Morgan"), 5),
    (("Griffiths", "Griffiths"), 5),
    (("Price", "Price"), 4),
    (("Rees", "Rees"), 4),
    (("Lloyd", "Lloyd"), 3),
    (("Jenkins", "Jenkins"), 3),
    (("Owen", "Owen"), 3),
    (("Pritchard", "Pritchard"), 2),
    (("Parry", "Parry"), 2),
    (("Howells", "Howells"), 2),
    (("Bowen", "Bowen"), 2),
    (("Pugh", "Pugh"), 2),
    (("Vaughan", "Vaughan"), 1),
    (("Llewellyn", "Llewellyn"), 1),
    (("Prosser", "Prosser"), 1),
    (("Meredith", "Meredith"), 1),
    (("Bevan", "Bevan"), 1),
];

const IRISH_SURNAMES: &[(Surname, u32)] = &[
    (("Murphy", "Murphy"), 12),
    (("Kelly", "Kelly"), 9),
    (("O'Sullivan", "O'Sullivan"), 8),
    (("Walsh", "Walsh"), 8),
    (("O'Brien", "O'Brien"), 7),
    (("Byrne", "Byrne"), 7),
    (("Ryan", "Ryan"), 6),
    (("O'Connor", "O'Connor"), 6),
    (("O'Neill", "O'Neill"), 5),
    (("O'Reilly", "O'Reilly"), 5),
    (("Doyle", "Doyle"), 5),
    (("McCarthy", "McCarthy"), 5),
    (("Gallagher", "Gallagher"), 4),
    (("Doherty", "Doherty"), 4),
    (("Kennedy", "Kennedy"), 4),
    (("Lynch", "Lynch"), 4),
    (("Quinn", "Quinn"), 3),
    (("McLoughlin", "McLoughlin"), 3),
    (("Carroll", "Carroll"), 3),
    (("Connolly", "Connolly"), 3),
    (("Daly", "Daly"), 3),
    (("Brennan", "Brennan"), 3),
    (("Fitzgerald", "Fitzgerald"), 2),
    (("Nolan", "Nolan"), 2),
    (("Flanagan", "Flanagan"), 2),
];

const SOUTH_ASIAN_SURNAMES: &[((&str, Sex), u32)] = &[
    (("Patel", Sex::Any), 30),
    (("Khan", Sex::Any), 18),
    (("Singh", Sex::Male), 14),
    (("Kaur", Sex::Female), 14),
    (("Ahmed", Sex::Any), 10),
    (("Ali", Sex::Any), 9),
    (("Hussain", Sex::Any), 8),
    (("Begum", Sex::Female), 7),
    (("Shah", Sex::Any), 6),
    (("Akhtar", Sex::Any), 4),
    (("Rahman", Sex::Any), 4),
    (("Islam", Sex::Any), 3),
    (("Miah", Sex::Male), 4),
    (("Sharma", Sex::Any), 5),
    (("Kumar", Sex::Any), 4),
    (("Gupta", Sex::Any), 3),
    (("Mistry", Sex::Any), 3),
    (("Chauhan", Sex::Any), 2),
    (("Sandhu", Sex::Any), 3),
    (("Gill", Sex::Any), 3),
    (("Dhillon", Sex::Any), 2),
    (("Malik", Sex::Any), 3),
    (("Iqbal", Sex::Any), 2),
    (("Bibi", Sex::Female), 2),
    (("Mahmood", Sex::Any), 2),
    (("Chaudhry", Sex::Any), 2),
    (("Joshi", Sex::Any), 2),
    (("Desai", Sex::Any), 2),
];

const NEPALI_SURNAMES: &[(Surname, u32)] = &[
    (("Gurung", "Gurung"), 10),
    (("Rai", "Rai"), 8),
    (("Limbu", "Limbu"), 6),
    (("Thapa", "Thapa"), 6),
    (("Magar", "Magar"), 5),
    (("Tamang", "Tamang"), 4),
    (("Pun", "Pun"), 3),
    (("Ghale", "Ghale"), 2),
    (("Shrestha", "Shrestha"), 4),
    (("Sherpa", "Sherpa"), 2),
    (("Chhetri", "Chhetri"), 2),
    (("Subba", "Subba"), 2),
];

const POLISH_SURNAMES: &[(Surname, u32)] = &[
    (("Nowak", "Nowak"), 10),
    (("Kowalski", "Kowalska"), 8),
    (("Wiśniewski", "Wiśniewska"), 6),
    (("Wójcik", "Wójcik"), 6),
    (("Kowalczyk", "Kowalczyk"), 5),
    (("Kamiński", "Kamińska"), 5),
    (("Lewandowski", "Lewandowska"), 5),
    (("Zieliński", "Zielińska"), 4),
    (("Szymański", "Szymańska"), 4),
    (("Woźniak", "Woźniak"), 4),
    (("Dąbrowski", "Dąbrowska"), 4),
    (("Kozłowski", "Kozłowska"), 3),
    (("Jankowski", "Jankowska"), 3),
    (("Mazur", "Mazur"), 3),
    (("Kwiatkowski", "Kwiatkowska"), 3),
    (("Krawczyk", "Krawczyk"), 3),
    (("Piotrowski", "Piotrowska"), 2),
    (("Grabowski", "Grabowska"), 2),
];

const EASTERN_EUROPEAN_SURNAMES: &[(Surname, u32)] = &[
    (("Popescu", "Popescu"), 6),
    (("Ionescu", "Ionescu"), 4),
    (("Popa", "Popa"), 4),
    (("Radu", "Radu"), 3),
    (("Dumitru", "Dumitru"), 3),
    (("Stoica", "Stoica"), 2),
    (("Constantin", "Constantin"), 2),
    (("Munteanu", "Munteanu"), 2),
    (("Kazlauskas", "Kazlauskienė"), 3),
    (("Petrauskas", "Petrauskienė"), 2),
    (("Jankauskas", "Jankauskienė"), 2),
    (("Ivanov", "Ivanova"), 3),
    (("Georgiev", "Georgieva"), 2),
    (("Dimitrov", "Dimitrova"), 2),
    (("Petrov", "Petrova"), 2),
];

const WEST_AFRICAN_SURNAMES: &[(Surname, u32)] = &[
    (("Okafor", "Okafor"), 4),
    (("Adeyemi", "Adeyemi"), 4),
    (("Okonkwo", "Okonkwo"), 3),
    (("Adebayo", "Adebayo"), 3),
    (("Ogunleye", "Ogunleye"), 2),
    (("Eze", "Eze"), 3),
    (("Nwosu", "Nwosu"), 2),
    (("Balogun", "Balogun"), 2),
    (("Oladipo", "Oladipo"), 2),
    (("Okoro", "Okoro"), 2),
    (("Mensah", "Mensah"), 4),
    (("Asante", "Asante"), 3),
    (("Owusu", "Owusu"), 3),
    (("Boateng", "Boateng"), 3),
    (("Osei", "Osei"), 3),
    (("Adjei", "Adjei"), 2),
    (("Afolabi", "Afolabi"), 2),
    (("Ibrahim", "Ibrahim"), 2),
];

const CHINESE_SURNAMES: &[(Surname, u32)] = &[
    (("Wang", "Wang"), 6),
    (("Li", "Li"), 6),
    (("Zhang", "Zhang"), 5),
    (("Liu", "Liu"), 4),
    (("Chen", "Chen"), 4),
    (("Yang", "Yang"), 3),
    (("Huang", "Huang"), 3),
    (("Wu", "Wu"), 2),
    (("Zhou", "Zhou"), 2),
    (("Wong", "Wong"), 4),
    (("Chan", "Chan"), 4),
    (("Cheung", "Cheung"), 2),
    (("Lam", "Lam"), 2),
];

const ENGLISH_MALE_BEFORE_1950: &[&str] = &[
    "John", "William", "George", "Peter", "David", "Robert", "Michael", "Kenneth", "Brian", "Ronald", "Dennis", "Derek",
    "Roy", "Alan", "Raymond", "Frederick", "Arthur", "Albert", "Leonard", "Stanley", "Harold", "Geoffrey", "Anthony",
    "Terence", "Edward", "Frank", "Norman", "Donald", "Eric", "Colin", "Keith", "Roger", "Barry",
];
const ENGLISH_FEMALE_BEFORE_1950: &[&str] = &[
    "Margaret", "Mary", "Patricia", "Jean", "Joan", "Sheila", "Barbara", "Doris", "Dorothy", "Joyce", "Irene", "Betty",
    "Brenda", "Pamela", "Sylvia", "Eileen", "Elizabeth", "Valerie", "Maureen", "Audrey", "Shirley", "Kathleen",
    "Marjorie", "Beryl", "Iris", "Vera", "Edna", "June", "Ann", "Christine", "Janet", "Jennifer",
];
const ENGLISH_MALE_1950S_TO_70S: &[&str] = &[
    "David", "Paul", "Mark", "Andrew", "Stephen", "Michael", "Peter", "Ian", "Gary", "Richard", "Robert",
    "Christopher", "John", "Kevin", "Simon", "Steven", "Martin", "Neil", "Darren", "Jason", "Lee", "Anthony", "Philip",
    "Nigel", "Graham", "Jonathan", "Timothy", "Shaun", "Dean", "Wayne",
];
const ENGLISH_FEMALE_1950S_TO_70S: &[&str] = &[
    "Susan", "Julie", "Karen", "Sarah", "Helen", "Alison", "Deborah", "Tracey", "Lisa", "Nicola", "Amanda", "Joanne",
    "Claire", "Michelle", "Elizabeth", "Catherine", "Jacqueline", "Sharon", "Jane", "Gillian", "Wendy", "Linda",
    "Angela", "Carol", "Lorraine", "Dawn", "Emma", "Rachel", "Kerry", "Samantha",
];
const ENGLISH_MALE_1980S_TO_90S: &[&str] = &[
    "Daniel", "James", "Thomas", "Matthew", "Christopher", "Michael", "Adam", "Luke", "Ryan", "Jamie", "Ben", "Joshua",
    "Liam", "Craig", "Scott", "Lewis", "Jack", "Sam", "Samuel", "Alexander", "Nathan", "Jordan", "Callum", "Kieran",
    "Oliver", "Aaron", "Carl", "Robert", "Andrew", "Ashley",
];
const ENGLISH_FEMALE_1980S_TO_90S: &[&str] = &[
    "Laura", "Emma", "Sarah", "Rebecca", "Hannah", "Gemma", "Amy", "Charlotte", "Jessica", "Lauren", "Stacey",
    "Sophie", "Katie", "Kirsty", "Natalie", "Danielle", "Jade", "Nicola", "Emily", "Chloe", "Leanne", "Victoria",
    "Rachel", "Holly", "Zoe", "Jodie", "Kayleigh", "Lucy", "Stephanie", "Amanda",
];
const ENGLISH_MALE_SINCE_2000: &[&str] = &[
    "Oliver", "Jack", "Harry", "George", "Charlie", "Jacob", "Thomas", "Noah", "Oscar", "William", "Leo", "Alfie",
    "Joshua", "Freddie", "Archie", "James", "Henry", "Max", "Ethan", "Isaac", "Logan", "Lucas", "Theo", "Arthur",
    "Finley", "Mason", "Riley", "Dylan", "Harrison", "Teddy",
];
const ENGLISH_FEMALE_SINCE_2000: &[&str] = &[
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophia", "Grace", "Mia", "Poppy", "Ella", "Lily", "Evie", "Isabella",
    "Sophie", "Ivy", "Freya", "Harper", "Willow", "Charlotte", "Jessica", "Daisy", "Florence", "Ruby", "Chloe",
    "Millie", "Rosie", "Phoebe", "Matilda", "Elsie", "Scarlett",
];
const SCOTTISH_MALE: &[&str] = &[
    "Alasdair", "Angus", "Callum", "Duncan", "Fraser", "Hamish", "Iain", "Euan", "Ross", "Craig", "Gordon", "Malcolm",
    "Stuart", "Graeme", "Kenneth", "Ewan", "Rory", "Finlay", "Lachlan", "Murray",
];
const SCOTTISH_FEMALE: &[&str] = &[
    "Fiona", "Morag", "Isla", "Catriona", "Eilidh", "Kirsty", "Mhairi", "Shona", "Ailsa", "Heather", "Elspeth", "Iona",
    "Rhona", "Moira", "Sheena", "Lorna", "Ishbel", "Jean", "Kirsteen", "Skye",
];
const WELSH_MALE: &[&str] = &[
    "Rhys", "Dafydd", "Gareth", "Huw", "Ieuan", "Owain", "Emlyn", "Gethin", "Aled", "Iwan", "Geraint", "Llewellyn",
    "Gwyn", "Dewi", "Cai", "Osian", "Rhodri", "Bryn", "Evan", "Tomos",
];
const WELSH_FEMALE: &[&str] = &[
    "Rhian", "Siân", "Cerys", "Bethan", "Angharad", "Carys", "Ffion", "Catrin", "Megan", "Nia", "Eluned", "Gwen",
    "Lowri", "Seren", "Mali", "Manon", "Rhiannon", "Eirlys", "Elin", "Gwenllian",
];
const IRISH_MALE: &[&str] = &[
    "Seán", "Patrick", "Liam", "Conor", "Ciarán", "Declan", "Eoin", "Niall", "Pádraig", "Cormac", "Darragh", "Fergal",
    "Kieran", "Brendan", "Colm", "Dónal", "Eamon", "Oisín", "Cillian", "Ronan",
];
const IRISH_FEMALE: &[&str] = &[
    "Siobhan", "Aoife", "Niamh", "Orla", "Ciara", "Róisín", "Sinéad", "Gráinne", "Aisling", "Caoimhe", "Saoirse",
    "Maeve", "Deirdre", "Clodagh", "Eimear", "Fionnuala", "Mairead", "Nuala", "Brigid", "Sorcha",
];
const SOUTH_ASIAN_MALE: &[&str] = &[
    "Mohammed", "Muhammad", "Ahmed", "Ali", "Amir", "Imran", "Hassan", "Arjun", "Rahul", "Vikram", "Raj", "Sanjay",
    "Amit", "Rohan", "Gurpreet", "Sandeep", "Jaspal", "Kamal", "Rizwan", "Tariq", "Zain", "Aarav", "Ravi", "Deepak",
    "Suresh", "Faisal", "Usman", "Bilal", "Ayaan", "Harjit",
];
const SOUTH_ASIAN_FEMALE: &[&str] = &[
    "Fatima", "Aisha", "Ayesha", "Priya", "Anjali", "Sunita", "Neha", "Pooja", "Shabana", "Nasreen", "Farzana",
    "Rukhsana", "Simran", "Manjit", "Harjinder", "Parveen", "Zara", "Amara", "Sana", "Kiran", "Meera", "Divya", "Asha",
    "Nadia", "Samina", "Rubina", "Inaya", "Anaya", "Saanvi", "Jaspreet",
];
const NEPALI_MALE: &[&str] = &[
    "Ram", "Krishna", "Bishnu", "Hari", "Gopal", "Dil", "Bal", "Man", "Tek", "Dhan", "Prakash", "Rajesh", "Santosh",
    "Suraj", "Bikash", "Anish", "Sagar", "Rabin", "Dipesh", "Kamal",
];
const NEPALI_FEMALE: &[&str] = &[
    "Sita", "Gita", "Laxmi", "Maya", "Sarita", "Sunita", "Kamala", "Radha", "Anita", "Sabina", "Pabitra", "Bimala",
    "Durga", "Parbati", "Rita", "Nirmala", "Samjhana", "Asmita", "Pooja", "Srijana",
];
const POLISH_MALE: &[&str] = &[
    "Piotr", "Krzysztof", "Tomasz", "Paweł", "Marcin", "Michał", "Łukasz", "Jakub", "Kamil", "Adam", "Mateusz",
    "Grzegorz", "Wojciech", "Dariusz", "Marek", "Rafał", "Jan", "Szymon", "Filip", "Bartosz",
];
const POLISH_FEMALE: &[&str] = &[
    "Anna", "Katarzyna", "Agnieszka", "Magdalena", "Joanna", "Małgorzata", "Ewa", "Aleksandra", "Monika", "Marta",
    "Karolina", "Natalia", "Zofia", "Julia", "Justyna", "Dorota", "Beata", "Paulina", "Zuzanna", "Maja",
];
const EASTERN_EUROPEAN_MALE: &[&str] = &[
    "Andrei", "Alexandru", "Ionuț", "Mihai", "Florin", "Bogdan", "Vasile", "Gheorghe", "Marius", "Adrian", "Tomas",
    "Mantas", "Darius", "Lukas", "Jonas", "Georgi", "Ivan", "Dimitar", "Nikolai", "Stefan",
];
const EASTERN_EUROPEAN_FEMALE: &[&str] = &[
    "Maria", "Elena", "Ioana", "Andreea", "Alexandra", "Mihaela", "Gabriela", "Cristina", "Simona", "Raluca", "Rūta",
    "Eglė", "Laura", "Ieva", "Greta", "Desislava", "Petya", "Mariya", "Yana", "Viktoria",
];
const WEST_AFRICAN_MALE: &[&str] = &[
    "Oluwaseun", "Chinedu", "Emeka", "Adebayo", "Olumide", "Tunde", "Chukwuemeka", "Obinna", "Segun", "Babatunde",
    "Kwame", "Kofi", "Kwabena", "Yaw", "Femi", "Ifeanyi", "Nnamdi", "Tobi", "David", "Samuel",
];
const WEST_AFRICAN_FEMALE: &[&str] = &[
    "Adaeze", "Chiamaka", "Ngozi", "Folasade", "Funmilayo", "Yetunde", "Oluwakemi", "Blessing", "Grace", "Abena",
    "Ama", "Akosua", "Efua", "Chioma", "Ifeoma", "Temitope", "Bukola", "Nneka", "Precious", "Esther",
];
const CHINESE_MALE: &[&str] =
    &["Wei", "Jun", "Hao", "Ming", "Jie", "Lei", "Tao", "Yong", "Kai", "Jian", "Bo", "Long", "Peng", "Hui", "Qiang"];
const CHINESE_FEMALE: &[&str] =
    &["Mei", "Li", "Xiu", "Ying", "Hui", "Jing", "Yan", "Fang", "Lan", "Xin", "Qing", "Na", "Ling", "Yu", "Hong"];
