//! Towns of Kent and Medway with their real postcode districts, the services that cover them, and street addresses.

use crate::date::push_number;
use crate::names::Heritage;
use crate::person::Address;
use crate::rng::Rng;

/// A town, weighted by population (thousands), with the organisations that serve it.
pub(crate) struct Town {
    pub name: &'static str,
    pub population_thousands: u32,
    pub postcode_districts: &'static [&'static str],
    pub acute_trust: &'static str,
    pub council: &'static str,
    pub hospice: &'static str,
    pub gp_practices: &'static [&'static str],
}

/// Medway towns are in the Medway Council area (887); the rest of Kent is Kent County Council (886).
pub(crate) const TOWNS: &[Town] = &[
    town("Maidstone", 110, &["ME14", "ME15", "ME16", "ME17"], "RWF", "886", "8HK20", &["G82001"]),
    town("Aylesford", 20, &["ME20"], "RWF", "886", "8HK20", &["G82013"]),
    town("West Malling", 15, &["ME19"], "RWF", "886", "8HK20", &["G82013"]),
    town("Snodland", 11, &["ME6"], "RWF", "886", "8HK20", &["G82013"]),
    town("Tunbridge Wells", 59, &["TN1", "TN2", "TN4"], "RWF", "886", "8HK20", &["G82007"]),
    town("Tonbridge", 41, &["TN9", "TN10", "TN11"], "RWF", "886", "8HK20", &["G82022"]),
    town("Paddock Wood", 8, &["TN12"], "RWF", "886", "8HK20", &["G82022"]),
    town("Cranbrook", 6, &["TN17", "TN18"], "RWF", "886", "8HK20", &["G82007"]),
    town("Sevenoaks", 29, &["TN13", "TN14", "TN15"], "RWF", "886", "8HK20", &["G82011"]),
    town("Edenbridge", 8, &["TN8"], "RWF", "886", "8HK20", &["G82011"]),
    town("Chatham", 77, &["ME4", "ME5"], "RPA", "887", "8HK20", &["G82002"]),
    town("Gillingham", 105, &["ME7", "ME8"], "RPA", "887", "8HK20", &["G82003"]),
    town("Rochester", 62, &["ME1", "ME2", "ME3"], "RPA", "887", "8HK20", &["G82014"]),
    town("Sittingbourne", 62, &["ME9", "ME10"], "RPA", "886", "8HK20", &["G82015"]),
    town("Sheerness", 38, &["ME12"], "RPA", "886", "8HK20", &["G82016"]),
    town("Faversham", 20, &["ME13"], "RVV", "886", "8PH10", &["G82021"]),
    town("Canterbury", 55, &["CT1", "CT2", "CT3", "CT4"], "RVV", "886", "8PH10", &["G82004"]),
    town("Whitstable", 32, &["CT5"], "RVV", "886", "8PH10", &["G82023"]),
    town("Herne Bay", 39, &["CT6"], "RVV", "886", "8PH10", &["G82017"]),
    town("Margate", 62, &["CT9"], "RVV", "886", "8PH10", &["G82005"]),
    town("Broadstairs", 25, &["CT10"], "RVV", "886", "8PH10", &["G82005", "G82018"]),
    town("Ramsgate", 42, &["CT11", "CT12"], "RVV", "886", "8PH10", &["G82018"]),
    town("Deal", 30, &["CT14"], "RVV", "886", "8PH10", &["G82020"]),
    town("Dover", 31, &["CT15", "CT16", "CT17"], "RVV", "886", "8PH10", &["G82019"]),
    town("Folkestone", 51, &["CT18", "CT19", "CT20"], "RVV", "886", "8PH10", &["G82010"]),
    town("Hythe", 14, &["CT21"], "RVV", "886", "8PH10", &["G82010"]),
    town("Ashford", 74, &["TN23", "TN24", "TN25", "TN26"], "RVV", "886", "8PH10", &["G82006"]),
    town("Tenterden", 8, &["TN30"], "RVV", "886", "8PH10", &["G82006"]),
    town("New Romney", 7, &["TN28", "TN29"], "RVV", "886", "8PH10", &["G82010"]),
    town("Dartford", 56, &["DA1", "DA2"], "RN7", "886", "8HK20", &["G82008"]),
    town("Longfield", 10, &["DA3"], "RN7", "886", "8HK20", &["G82008"]),
    town("Gravesend", 53, &["DA11", "DA12", "DA13"], "RN7", "886", "8HK20", &["G82009"]),
    town("Swanley", 17, &["BR8"], "RN7", "886", "8HK20", &["G82012"]),
];

#[allow(clippy::too_many_arguments)]
const fn town(
    name: &'static str,
    population_thousands: u32,
    postcode_districts: &'static [&'static str],
    acute_trust: &'static str,
    council: &'static str,
    hospice: &'static str,
    gp_practices: &'static [&'static str],
) -> Town {
    Town { name, population_thousands, postcode_districts, acute_trust, council, hospice, gp_practices }
}

pub(crate) fn pick_town(rng: &mut Rng) -> &'static Town {
    let total: u64 = TOWNS.iter().map(|town| u64::from(town.population_thousands)).sum();
    let mut target = rng.below(total);
    for town in TOWNS {
        let weight = u64::from(town.population_thousands);
        if target < weight {
            return town;
        }
        target -= weight;
    }
    unreachable!("the target is below the total population")
}

/// How much more common a heritage is in a town than across the region: the Gurkha communities of Folkestone,
/// Hythe and Ashford, the Sikh community of Gravesend, West African and South Asian families in Medway and Dartford.
pub(crate) fn heritage_weight_factor(town: &Town, heritage: Heritage) -> u32 {
    match (town.name, heritage) {
        ("Folkestone" | "Hythe" | "Ashford", Heritage::Nepali) => 8,
        ("Gravesend", Heritage::SouthAsian) => 5,
        ("Chatham" | "Gillingham" | "Rochester" | "Dartford", Heritage::WestAfrican | Heritage::SouthAsian) => 3,
        ("Maidstone" | "Sheerness" | "Sittingbourne", Heritage::Polish | Heritage::EasternEuropean) => 2,
        _ => 1,
    }
}

/// A postcode in a district: sector digit and two unit letters (the unit letters never include C, I, K, M, O, V).
pub(crate) fn postcode(rng: &mut Rng, district: &str) -> String {
    const UNIT_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
    let mut code = String::with_capacity(8);
    code.push_str(district);
    code.push(' ');
    code.push(char::from(b'0' + rng.below(10) as u8));
    code.push(char::from(*rng.pick(UNIT_LETTERS)));
    code.push(char::from(*rng.pick(UNIT_LETTERS)));
    code
}

/// Address lines: a numbered street address, sometimes a flat or a named house first.
pub(crate) fn address_lines(rng: &mut Rng) -> Vec<String> {
    let street = *rng.pick(STREETS);
    let roll = rng.unit();
    if roll < 0.12 {
        let mut flat = String::with_capacity(24);
        flat.push_str("Flat ");
        push_number(&mut flat, rng.between(1, 24) as u64);
        flat.push_str(", ");
        flat.push_str(rng.pick_copy(BUILDINGS));
        vec![flat, numbered_street(rng, street)]
    } else if roll < 0.17 {
        vec![(*rng.pick(HOUSE_NAMES)).to_string(), street.to_string()]
    } else {
        vec![numbered_street(rng, street)]
    }
}

/// The address the person lived at before their last move: usually elsewhere in the same town, sometimes in another
/// town of the same postcode area (Rochester to Chatham, Deal to Dover), always another street and another postcode.
pub(crate) fn previous_address(rng: &mut Rng, town: &'static Town, current: &Address) -> Address {
    /// Most house moves are short: within the same town.
    const MOVED_WITHIN_TOWN_CHANCE: f64 = 0.7;
    let area = postcode_area(town.postcode_districts[0]);
    let neighbours: Vec<&'static Town> =
        TOWNS.iter().filter(|other| postcode_area(other.postcode_districts[0]) == area).collect();
    let from_town = if rng.chance(MOVED_WITHIN_TOWN_CHANCE) { town } else { rng.pick_copy(&neighbours) };
    loop {
        let lines = address_lines(rng);
        let district = rng.pick_copy(from_town.postcode_districts);
        let postal_code = postcode(rng, district);
        if street_of(&lines) != street_of(&current.lines) && postal_code != current.postal_code {
            return Address {
                lines,
                city: from_town.name.to_string(),
                district: current.district.clone(),
                postal_code,
            };
        }
    }
}

/// The letters that begin a postcode district: the postcode area (`ME` of `ME14`).
fn postcode_area(district: &str) -> &str {
    district.trim_end_matches(|character: char| character.is_ascii_digit())
}

/// The street of an address: its last line without the house number.
fn street_of(lines: &[String]) -> Option<&str> {
    lines.last().map(|line| line.trim_start_matches(|character: char| character.is_ascii_digit()).trim_start())
}

fn numbered_street(rng: &mut Rng, street: &str) -> String {
    // House numbers are mostly small: most streets are short.
    let number = if rng.chance(0.7) { rng.between(1, 60) } else { rng.between(61, 240) };
    let mut line = String::with_capacity(street.len() + 5);
    push_number(&mut line, number as u64);
    line.push(' ');
    line.push_str(street);
    line
}

const STREETS: &[&str] = &[
    "High Street",
    "Church Road",
    "Station Road",
    "London Road",
    "Victoria Road",
    "Green Lane",
    "Manor Road",
    "Church Street",
    "Park Road",
    "The Avenue",
    "Queens Road",
    "New Road",
    "Grange Road",
    "Kings Road",
    "Mill Lane",
    "School Lane",
    "The Street",
    "Canterbury Road",
    "Maidstone Road",
    "Ashford Road",
    "Chestnut Close",
    "Orchard Way",
    "Hop Garden Way",
    "Oast Close",
    "Cherry Tree Road",
    "Albert Road",
    "York Road",
    "Windmill Hill",
    "Elm Grove",
    "Beech Avenue",
    "Castle Street",
    "Marine Parade",
    "Sea View Road",
    "Priory Road",
    "Tonbridge Road",
    "Hythe Road",
    "Watling Street",
    "Pilgrims Way",
    "Bramley Gardens",
    "Cobham Close",
    "Medway Street",
    "Darnley Road",
    "St Johns Road",
    "Stour Street",
    "Cromwell Road",
    "Shakespeare Road",
    "Lynwood Avenue",
    "Rochester Drive",
    "Copperfield Road",
    "Dickens Close",
];

const BUILDINGS: &[&str] = &[
    "Oak Court",
    "Wharf House",
    "Riverside Court",
    "Kingsmead House",
    "Dane Court",
    "Hengist House",
    "Harbour View",
    "Bredgar House",
    "Chaucer Court",
    "Beacon House",
];

const HOUSE_NAMES: &[&str] = &[
    "Rose Cottage",
    "The Old Forge",
    "Oast House",
    "Orchard Cottage",
    "Hop Kiln Cottage",
    "The Old Rectory",
    "Meadow View",
    "Little Barn",
];
