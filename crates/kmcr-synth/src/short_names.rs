//! The short forms and nicknames people go by (William: Bill, Will; Margaret: Peggy, Maggie), for the given names the
//! generator produces, so that a source can record the name a person gives at the desk rather than the one on the
//! national register.
//!
//! Written here from common English usage (and the best-known short forms of the other naming traditions in
//! `names.rs`), not taken from any matcher's table, so that a matcher is tested on forms it did not choose.

/// A registered given name and the other forms of it in everyday use, commonest first.
const SHORT_FORMS: &[(&str, &[&str])] = &[
    // English, men.
    ("Aaron", &["Az"]),
    ("Albert", &["Bert", "Albie"]),
    ("Alexander", &["Alex", "Sandy", "Xander"]),
    ("Alan", &["Al"]),
    ("Andrew", &["Andy", "Drew"]),
    ("Anthony", &["Tony", "Ant"]),
    ("Archie", &["Arch"]),
    ("Arthur", &["Art", "Artie"]),
    ("Ashley", &["Ash"]),
    ("Barry", &["Baz"]),
    ("Callum", &["Cal"]),
    ("Charlie", &["Charles"]),
    ("Christopher", &["Chris", "Kit"]),
    ("Colin", &["Col"]),
    ("Daniel", &["Dan", "Danny"]),
    ("Darren", &["Daz"]),
    ("David", &["Dave", "Davy"]),
    ("Dennis", &["Den"]),
    ("Donald", &["Don", "Donny"]),
    ("Edward", &["Ted", "Ed", "Eddie"]),
    ("Finley", &["Finn"]),
    ("Frederick", &["Fred", "Freddie"]),
    ("Freddie", &["Fred"]),
    ("Gary", &["Gaz"]),
    ("Geoffrey", &["Geoff"]),
    ("Harold", &["Harry", "Hal"]),
    ("Harrison", &["Harry"]),
    ("Henry", &["Harry", "Hal"]),
    ("Isaac", &["Zac", "Ike"]),
    ("Jacob", &["Jake"]),
    ("James", &["Jim", "Jimmy", "Jamie"]),
    ("John", &["Jack", "Johnny"]),
    ("Jonathan", &["Jon", "Jonny"]),
    ("Joshua", &["Josh"]),
    ("Kenneth", &["Ken", "Kenny"]),
    ("Kevin", &["Kev"]),
    ("Leonard", &["Len", "Lenny"]),
    ("Lewis", &["Lew"]),
    ("Martin", &["Marty"]),
    ("Matthew", &["Matt"]),
    ("Michael", &["Mike", "Mick", "Mikey"]),
    ("Nathan", &["Nate", "Nat"]),
    ("Nigel", &["Nige"]),
    ("Norman", &["Norm"]),
    ("Oliver", &["Ollie", "Olly"]),
    ("Oscar", &["Ozzy"]),
    ("Peter", &["Pete"]),
    ("Philip", &["Phil"]),
    ("Raymond", &["Ray"]),
    ("Richard", &["Rich", "Rick", "Dick"]),
    ("Robert", &["Bob", "Rob", "Bobby"]),
    ("Roger", &["Rog"]),
    ("Ronald", &["Ron", "Ronnie"]),
    ("Samuel", &["Sam", "Sammy"]),
    ("Simon", &["Si"]),
    ("Stanley", &["Stan"]),
    ("Stephen", &["Steve"]),
    ("Steven", &["Steve"]),
    ("Teddy", &["Ted"]),
    ("Terence", &["Terry", "Tel"]),
    ("Theo", &["Theodore"]),
    ("Thomas", &["Tom", "Tommy"]),
    ("Timothy", &["Tim"]),
    ("William", &["Bill", "Will", "Billy"]),
    // English, women.
    ("Amanda", &["Mandy"]),
    ("Amelia", &["Millie", "Amy"]),
    ("Alison", &["Ali"]),
    ("Angela", &["Angie"]),
    ("Ann", &["Annie"]),
    ("Barbara", &["Babs", "Barb"]),
    ("Catherine", &["Cathy", "Kate", "Cath"]),
    ("Charlotte", &["Lottie", "Charlie"]),
    ("Christine", &["Chris", "Chrissie", "Tina"]),
    ("Danielle", &["Dani"]),
    ("Deborah", &["Debbie", "Deb"]),
    ("Dorothy", &["Dot", "Dottie", "Dolly"]),
    ("Elizabeth", &["Liz", "Beth", "Lizzie", "Betty"]),
    ("Emily", &["Em", "Emmy"]),
    ("Emma", &["Em"]),
    ("Florence", &["Flo", "Florrie"]),
    ("Gemma", &["Gem"]),
    ("Gillian", &["Gill", "Jill"]),
    ("Grace", &["Gracie"]),
    ("Isabella", &["Bella", "Izzy"]),
    ("Jacqueline", &["Jackie"]),
    ("Janet", &["Jan"]),
    ("Jennifer", &["Jenny", "Jen"]),
    ("Jessica", &["Jess", "Jessie"]),
    ("Joanne", &["Jo"]),
    ("Kathleen", &["Kath", "Kathy", "Kate"]),
    ("Linda", &["Lyn"]),
    ("Margaret", &["Peggy", "Maggie", "Meg", "Madge"]),
    ("Marjorie", &["Marje", "Madge"]),
    ("Mary", &["Molly", "Polly"]),
    ("Matilda", &["Tilly", "Tilda"]),
    ("Maureen", &["Mo"]),
    ("Michelle", &["Shell"]),
    ("Natalie", &["Nat"]),
    ("Nicola", &["Nicky", "Nikki"]),
    ("Olivia", &["Liv", "Livvy"]),
    ("Pamela", &["Pam"]),
    ("Patricia", &["Pat", "Trish", "Patsy"]),
    ("Rebecca", &["Becky", "Becca"]),
    ("Samantha", &["Sam", "Sammy"]),
    ("Sarah", &["Sally", "Sal"]),
    ("Sophia", &["Sophie"]),
    ("Stephanie", &["Steph"]),
    ("Susan", &["Sue", "Suzy"]),
    ("Valerie", &["Val"]),
    ("Victoria", &["Vicky", "Tori"]),
    // Scottish, Welsh and Irish.
    ("Alasdair", &["Ali"]),
    ("Angus", &["Gus"]),
    ("Catriona", &["Cat"]),
    ("Dafydd", &["Dai", "Dafi"]),
    ("Deirdre", &["Dee"]),
    ("Brigid", &["Bridie", "Biddy"]),
    ("Fionnuala", &["Nuala", "Finola"]),
    ("Gwenllian", &["Gwen"]),
    ("Lachlan", &["Lachie"]),
    ("Llewellyn", &["Llew"]),
    ("Malcolm", &["Mal"]),
    ("Patrick", &["Pat", "Paddy"]),
    ("Pádraig", &["Paddy"]),
    ("Rhiannon", &["Rhi"]),
    ("Stuart", &["Stu"]),
    // Other traditions: the forms that people commonly give at a reception desk.
    ("Aleksandra", &["Ola"]),
    ("Alexandra", &["Alex"]),
    ("Alexandru", &["Alex"]),
    ("Babatunde", &["Tunde"]),
    ("Bartosz", &["Bartek"]),
    ("Chiamaka", &["Amaka"]),
    ("Chukwuemeka", &["Emeka"]),
    ("Folasade", &["Sade"]),
    ("Funmilayo", &["Funmi"]),
    ("Jakub", &["Kuba"]),
    ("Jaspal", &["Jas"]),
    ("Jaspreet", &["Jas"]),
    ("Katarzyna", &["Kasia"]),
    ("Magdalena", &["Magda"]),
    ("Małgorzata", &["Gosia"]),
    ("Mohammed", &["Mo"]),
    ("Muhammad", &["Mo"]),
    ("Nikolai", &["Nick"]),
    ("Oluwakemi", &["Kemi"]),
    ("Oluwaseun", &["Seun"]),
    ("Temitope", &["Tope", "Temi"]),
    ("Tomasz", &["Tomek"]),
    ("Vikram", &["Vik"]),
    ("Viktoria", &["Vicky"]),
    ("Wojciech", &["Wojtek"]),
];

/// The other forms of a given name in everyday use (`"William"` gives Bill, Will and Billy), commonest first;
/// empty for a name that has none in the table.
pub fn short_forms(given_name: &str) -> &'static [&'static str] {
    SHORT_FORMS.iter().find(|(name, _)| *name == given_name).map_or(&[], |(_, forms)| *forms)
}

/// Whether two given names are one name in different forms (William and Bill, Will and Bill): twins are never given
/// such a pair.
pub(crate) fn are_forms_of_one_name(first: &str, second: &str) -> bool {
    let forms = |name: &'static str, forms: &'static [&'static str]| std::iter::once(name).chain(forms.iter().copied());
    first == second
        || SHORT_FORMS.iter().any(|(name, others)| {
            forms(name, others).any(|form| form == first) && forms(name, others).any(|form| form == second)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_forms_of_a_name() {
        assert_eq!(short_forms("Margaret")[0], "Peggy");
        assert!(short_forms("Elizabeth").contains(&"Liz"));
        assert!(short_forms("Eilidh").is_empty());
        assert!(are_forms_of_one_name("Bill", "Will") && are_forms_of_one_name("William", "Bill"));
        assert!(!are_forms_of_one_name("William", "Margaret"));
    }

    #[test]
    fn every_name_in_the_table_is_one_the_generator_gives() {
        let given: std::collections::HashSet<&str> = crate::names::every_given_name().collect();
        for (name, _) in SHORT_FORMS {
            assert!(given.contains(name), "{name} is never generated");
        }
    }

    #[test]
    fn every_name_appears_once_and_no_form_repeats_its_name() {
        let mut seen = std::collections::HashSet::new();
        for (name, forms) in SHORT_FORMS {
            assert!(seen.insert(*name), "{name} appears twice");
            assert!(!forms.is_empty() && !forms.contains(name), "{name}");
        }
    }
}
