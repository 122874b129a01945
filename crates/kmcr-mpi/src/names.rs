//! Given-name variants (nicknames, short forms, spellings, and the Welsh, Scottish and Irish forms that registration
//! clerks meet every day), the titles that find their way into given-name fields, and the Soundex code used to block
//! on names that sound alike.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Each line is one group of names recorded for the same person: a formal name, its short forms and its spellings.
/// A name may sit in more than one group (`chris`: Christopher and Christine).
const VARIANT_GROUPS: &[&str] = &[
    "abigail abbie abby gail",
    "abraham abe bram",
    "agnes aggie nessie nancy",
    "adam ade",
    "albert bert al bertie",
    "alexander alex alec alistair alasdair sandy xander lex",
    "alexandra alex alexa sandra sandy lexie",
    "alfred alf alfie fred",
    "alice ally allie alicia alison",
    "andrew andy drew",
    "angela angie",
    "ann anne anna annie hannah nan nancy anita",
    "anthony tony antony anton",
    "arthur art artie",
    "barbara barb babs barbie",
    "benjamin ben benny benji",
    "bernard bernie",
    "bradley brad",
    "bridget bridie biddy brigid",
    "callum calum cal",
    "caroline carol carrie caro carolyn",
    "catherine katherine kathryn kate katie kathy cathy kat kay kitty cath kath caitlin catrin",
    "charles charlie chas chuck carl karl",
    "charlotte lottie charlie lotte",
    "christina christine chris tina kirsty kristina kristen",
    "christopher chris kit topher",
    "clifford cliff",
    "daniel dan danny",
    "david dave davey davy dai dafydd dewi",
    "deborah debbie debra deb",
    "dennis denis den",
    "donald don donnie",
    "dorothy dot dottie dolly",
    "douglas doug dougie",
    "edward ed eddie eddy ted teddy ned",
    "edmund ed eddie ned",
    "eleanor ellie nell nora elinor elaine",
    "elizabeth elisabeth liz lizzie beth betty bess bessie eliza elspeth libby lisa liza betsy isabel isabella",
    "emily em emmy millie",
    "emma em emmy",
    "eugene gene",
    "evan ifan ieuan iwan",
    "frances fran fanny francesca frankie",
    "francis frank frankie fran",
    "frederick fred freddie freddy fritz",
    "gabriel gabe gabby",
    "geoffrey geoff jeffrey jeff",
    "george georgie geordie",
    "georgina georgie gina",
    "gerald gerry jerry ged",
    "gillian gill jill jillian",
    "gregory greg",
    "griffith gruffydd gruff",
    "gwendolyn gwen wendy",
    "harold harry hal",
    "harriet hattie harry",
    "henrietta hetty etta hattie harriet",
    "helen helena ellen nell",
    "henry harry hal hank",
    "herbert herb bert herbie",
    "hugh huw hughie",
    "isabel isabella isobel bella izzy issy",
    "jacob jake jakob",
    "james jim jimmy jamie jem seamus hamish",
    "jane jan janet janey jenny jean sian sioned",
    "jennifer jen jenny jenna",
    "jessica jess jessie",
    "joanna joanne jo joan",
    "john jon jack johnny jonny sean shaun ian iain ieuan iwan ifan evan sion eoin",
    "jonathan jon jonny john nathan",
    "joseph joe joey jo",
    "josephine jo josie",
    "joshua josh",
    "judith judy jude",
    "julia julie jules",
    "kenneth ken kenny",
    "kimberley kimberly kim",
    "lawrence laurence larry laurie lol",
    "leonard len lenny leo",
    "lewis louis lou",
    "llewellyn llywelyn llew",
    "louisa louise lou lulu",
    "lucy lucinda lucia",
    "margaret maggie meg peggy maisie marge margo madge greta rita daisy mags mairead",
    "marjorie margery marge",
    "mary molly polly mae mamie maria marie mair maire",
    "matthew matt matty",
    "michael mike mick micky mikey michal",
    "michelle shelley michele",
    "nathaniel nathan nat",
    "nicholas nick nicky nic",
    "nicola nicole nicky nikki",
    "oliver ollie olly",
    "olivia liv livvy ollie",
    "owen owain",
    "pamela pam",
    "penelope penny pen",
    "patricia pat patsy trish tricia patty",
    "patrick pat paddy padraig",
    "peter pete",
    "philip phillip phil pip",
    "rebecca becky becca bex",
    "rhys rees reece reese",
    "richard rick ricky dick rich richie",
    "robert rob robbie robby bob bobby bobbie bert rab",
    "ronald ron ronnie",
    "rosemary rose rosie",
    "samantha sam sammy",
    "samuel sam sammy",
    "sarah sara sally sadie",
    "stephen steven steve stevie",
    "stuart stewart stu",
    "susan sue suzy susie suzanne",
    "terence terry",
    "theodore theo ted teddy",
    "thomas tom tommy",
    "timothy tim timmy",
    "valerie val",
    "veronica ronnie vera",
    "victoria vicky vickie tori",
    "vincent vince vinnie",
    "walter walt wally",
    "william will bill billy willy liam wills gwilym wil",
    "wilfred wilf fred freddie",
    "winifred winnie freda",
    "zachary zach zak",
];

/// Titles that patient systems offer in their title lists, normalised (`Rt. Hon.` -> `rt`, `hon`). Typed into the
/// given-name field they are no name: a `Mrs Hardy` and a `Florence Hardy` must not differ on first name.
const TITLES: &str = "mr mrs miss ms mx master dr doctor sir dame lady lord rev revd reverend prof professor hon rt the \
    capt captain major col colonel lt lieutenant brigadier commander cdr general admiral sister father fr rabbi imam canon";

/// True for a normalised word that is a title, not a name.
pub fn is_title(word: &str) -> bool {
    TITLES.split_whitespace().any(|title| title == word)
}

fn groups_by_name() -> &'static HashMap<&'static str, Vec<u16>> {
    static GROUPS: OnceLock<HashMap<&'static str, Vec<u16>>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        let mut groups: HashMap<&'static str, Vec<u16>> = HashMap::new();
        for (group_idx, line) in VARIANT_GROUPS.iter().enumerate() {
            for name in line.split_whitespace() {
                groups.entry(name).or_default().push(group_idx as u16);
            }
        }
        groups
    })
}

/// The variant groups a normalised given name belongs to (empty when it is in none).
pub fn variant_groups(name: &str) -> &'static [u16] {
    groups_by_name().get(name).map_or(&[], Vec::as_slice)
}

/// True when two different given names are known forms of one name (`bill` and `william`).
pub fn are_variants(first: &[u16], second: &[u16]) -> bool {
    first.iter().any(|group| second.contains(group))
}

/// American Soundex of the letters of `name` (`robert` and `rupert` -> `R163`); `None` for a name with no letters.
pub fn soundex(name: &str) -> Option<[u8; 4]> {
    fn digit(letter: u8) -> u8 {
        match letter {
            b'b' | b'f' | b'p' | b'v' => b'1',
            b'c' | b'g' | b'j' | b'k' | b'q' | b's' | b'x' | b'z' => b'2',
            b'd' | b't' => b'3',
            b'l' => b'4',
            b'm' | b'n' => b'5',
            b'r' => b'6',
            b'h' | b'w' => b'h',
            _ => b'0',
        }
    }
    let mut letters = name.bytes().filter(u8::is_ascii_alphabetic).map(|letter| letter.to_ascii_lowercase());
    let first = letters.next()?;
    let mut code = [first.to_ascii_uppercase(), b'0', b'0', b'0'];
    let mut n_written = 1;
    let mut previous = digit(first);
    for letter in letters {
        let current = digit(letter);
        // h and w do not separate letters of one code; vowels do.
        if current == b'h' {
            continue;
        }
        if current != b'0' && current != previous {
            code[n_written] = current;
            n_written += 1;
            if n_written == 4 {
                break;
            }
        }
        previous = current;
    }
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_short_forms_are_variants_and_strangers_are_not() {
        assert!(are_variants(variant_groups("bill"), variant_groups("william")));
        assert!(are_variants(variant_groups("peggy"), variant_groups("margaret")));
        assert!(!are_variants(variant_groups("bill"), variant_groups("margaret")));
        assert!(!are_variants(variant_groups("zebedee"), variant_groups("zebedee")));
    }

    #[test]
    fn welsh_and_gaelic_forms_are_variants_of_the_english_name() {
        for (form, name) in [("gwilym", "william"), ("dafydd", "david"), ("sion", "john"), ("seamus", "james")] {
            assert!(are_variants(variant_groups(form), variant_groups(name)), "{form} and {name}");
        }
        assert!(!are_variants(variant_groups("gwilym"), variant_groups("david")));
        assert!(are_variants(variant_groups("evan"), variant_groups("john")));
    }

    #[test]
    fn formal_names_and_their_pet_forms_are_variants() {
        for (form, name) in [("harriet", "henrietta"), ("penny", "penelope"), ("nessie", "agnes"), ("karl", "charles")]
        {
            assert!(are_variants(variant_groups(form), variant_groups(name)), "{form} and {name}");
        }
        assert!(!are_variants(variant_groups("penny"), variant_groups("agnes")));
    }

    #[test]
    fn titles_are_known_and_names_are_not() {
        assert!(is_title("mrs") && is_title("sir") && is_title("rt"));
        assert!(!is_title("florence") && !is_title("st"));
    }

    #[test]
    fn soundex_matches_the_published_examples() {
        for (name, code) in [("robert", "R163"), ("rupert", "R163"), ("ashcraft", "A261"), ("tymczak", "T522")] {
            assert_eq!(soundex(name).map(|code| String::from_utf8(code.to_vec()).unwrap()).as_deref(), Some(code));
        }
        assert_eq!(soundex(""), None);
    }
}
