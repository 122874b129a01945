//! A small made-up population for tests: people with distinct names, dates and addresses, written here (not by the
//! matcher's own tables) so that the tests check the matcher rather than repeat it.

use kmcr_mpi::{Demographics, Sex};

/// A seeded linear congruential generator: tests need repeatable draws, not good randomness.
pub struct Draws(u64);

impl Draws {
    pub fn new(seed: u64) -> Draws {
        Draws(seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407))
    }

    pub fn below(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % bound as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

pub const FORENAMES: &[&str] = &[
    "william",
    "margaret",
    "elizabeth",
    "robert",
    "catherine",
    "thomas",
    "susan",
    "richard",
    "jennifer",
    "michael",
    "amelia",
    "oliver",
    "isla",
    "noah",
    "freya",
    "arjun",
    "priya",
    "mohammed",
    "aisha",
    "kwame",
    "ngozi",
    "tomasz",
    "agnieszka",
    "siobhan",
    "declan",
    "rhys",
    "eilidh",
    "hamish",
    "grace",
    "harvey",
    "imogen",
    "jasper",
    "keira",
    "lewis",
    "maisie",
    "nathan",
    "ophelia",
    "patrick",
    "quentin",
    "rosalind",
];

const SYLLABLES: &[&str] = &[
    "ash", "brook", "cart", "dun", "ell", "fair", "gold", "hart", "ing", "kem", "lang", "mar", "nor", "ock", "pen",
    "rad", "stan", "thorn", "ul", "vane", "wick", "yard",
];

const ENDINGS: &[&str] = &["ley", "ton", "field", "wood", "man", "ford", "by", "well", "ham", "er"];

const STREETS: &[&str] = &[
    "high street",
    "church lane",
    "station road",
    "mill way",
    "london road",
    "park avenue",
    "queens road",
    "the green",
    "orchard close",
    "school lane",
];

/// A person's clean demographics, all fields present, no NHS number (so that only the demographics can link them).
pub fn person(draws: &mut Draws) -> Demographics {
    let surname = format!("{}{}", draws.pick(SYLLABLES), draws.pick(ENDINGS));
    let district = 1 + draws.below(20);
    Demographics {
        given_names: vec![draws.pick(FORENAMES).to_string()],
        family_name: Some(surname),
        birth_date: Some(format!("{}-{:02}-{:02}", 1930 + draws.below(90), 1 + draws.below(12), 1 + draws.below(28))),
        sex: Some(if draws.below(2) == 0 { Sex::Female } else { Sex::Male }),
        postcode: Some(format!("ME{district} {}{}", draws.below(10), two_letters(draws))),
        address_line: Some(format!("{} {}", 1 + draws.below(200), draws.pick(STREETS))),
        locality: Some("maidstone".into()),
        phones: vec![format!("07700 9{:05}", draws.below(100_000))],
        ..Demographics::default()
    }
}

pub fn two_letters(draws: &mut Draws) -> String {
    let letters = b"ABDEFGHJLNPQRSTUWXYZ";
    format!("{}{}", letters[draws.below(letters.len())] as char, letters[draws.below(letters.len())] as char)
}
