//! String normalisation, shared by extraction and parsing.

use expect_test::expect;
use kmcr_fhir_search::normalize_text;

#[test]
fn normalises_case_accents_and_whitespace() {
    let cases = [
        "  Chalmers ",
        "DU MARCHÉ",
        "Bénédicte",
        "Straße",
        "Øyvind Ærø",
        "François  Çelik\t\n",
        "Łukasz Wałęsa",
        "Dvořák Škoda",
        "İstanbul",
        "e\u{301}cole",
        "Œuvre",
        "Ĳssel",
        "Ελληνικά",
        "Anne-Marie O'Brien",
        "",
        " \t ",
    ];
    let rendered: String = cases.iter().map(|case| format!("{case:?} -> {:?}\n", normalize_text(case))).collect();
    expect![[r#"
        "  Chalmers " -> "chalmers"
        "DU MARCHÉ" -> "du marche"
        "Bénédicte" -> "benedicte"
        "Straße" -> "strasse"
        "Øyvind Ærø" -> "oyvind aero"
        "François  Çelik\t\n" -> "francois celik"
        "Łukasz Wałęsa" -> "lukasz walesa"
        "Dvořák Škoda" -> "dvorak skoda"
        "İstanbul" -> "istanbul"
        "e\u{301}cole" -> "ecole"
        "Œuvre" -> "oeuvre"
        "Ĳssel" -> "ijssel"
        "Ελληνικά" -> "ελληνικά"
        "Anne-Marie O'Brien" -> "anne-marie o'brien"
        "" -> ""
        " \t " -> ""
    "#]]
    .assert_eq(&rendered);
}
