//! String normalisation shared by index extraction and search parsing, so that both sides compare the same form.

/// Lower-cases, folds accented Latin letters to ASCII (`á` → `a`, `ß` → `ss`, `ø` → `o`), drops combining marks,
/// collapses runs of whitespace to one space and trims. Letters outside Latin-1 Supplement and Latin Extended-A are only
/// lower-cased.
pub fn normalize_text(text: &str) -> String {
    let mut normalized = String::with_capacity(text.len());
    // Starting as if after a space trims leading whitespace; a trailing space is popped at the end.
    let mut after_space = true;
    for character in text.chars() {
        if character.is_whitespace() {
            if !after_space {
                normalized.push(' ');
                after_space = true;
            }
            continue;
        }
        after_space = false;
        if character.is_ascii() {
            normalized.push(character.to_ascii_lowercase());
        } else if let Some(folded) = fold_latin(character) {
            normalized.push_str(folded);
        } else if !is_combining_mark(character) {
            normalized.extend(character.to_lowercase().filter(|lower| !is_combining_mark(*lower)));
        }
    }
    if normalized.ends_with(' ') {
        normalized.pop();
    }
    normalized
}

/// Combining diacritical marks (U+0300 to U+036F): text sent decomposed (`e` + `\u{301}`) folds like `é`.
fn is_combining_mark(character: char) -> bool {
    ('\u{300}'..='\u{36f}').contains(&character)
}

/// The lower-case ASCII form of a letter of Latin-1 Supplement or Latin Extended-A, upper or lower case.
fn fold_latin(character: char) -> Option<&'static str> {
    let code_point = character as u32;
    if (0xC0..=0xFF).contains(&code_point) {
        let folded = LATIN_1_SUPPLEMENT[(code_point - 0xC0) as usize];
        return (!folded.is_empty()).then_some(folded);
    }
    if (0x100..=0x17F).contains(&code_point) {
        return Some(LATIN_EXTENDED_A[(code_point - 0x100) as usize]);
    }
    None
}

/// U+00C0 to U+00FF; empty for the two signs in the block (`×`, `÷`), which are kept as they are.
#[rustfmt::skip]
const LATIN_1_SUPPLEMENT: [&str; 64] = [
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i", // À Á Â Ã Ä Å Æ Ç È É Ê Ë Ì Í Î Ï
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss", // Ð Ñ Ò Ó Ô Õ Ö × Ø Ù Ú Û Ü Ý Þ ß
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i", // à á â ã ä å æ ç è é ê ë ì í î ï
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",  // ð ñ ò ó ô õ ö ÷ ø ù ú û ü ý þ ÿ
];

/// U+0100 to U+017F.
#[rustfmt::skip]
const LATIN_EXTENDED_A: [&str; 128] = [
    "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d", // Ā ā Ă ă Ą ą Ć ć Ĉ ĉ Ċ ċ Č č Ď ď
    "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g", // Đ đ Ē ē Ĕ ĕ Ė ė Ę ę Ě ě Ĝ ĝ Ğ ğ
    "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i", // Ġ ġ Ģ ģ Ĥ ĥ Ħ ħ Ĩ ĩ Ī ī Ĭ ĭ Į į
    "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l", // İ ı Ĳ ĳ Ĵ ĵ Ķ ķ ĸ Ĺ ĺ Ļ ļ Ľ ľ Ŀ
    "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o", // ŀ Ł ł Ń ń Ņ ņ Ň ň ŉ Ŋ ŋ Ō ō Ŏ ŏ
    "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s", // Ő ő Œ œ Ŕ ŕ Ŗ ŗ Ř ř Ś ś Ŝ ŝ Ş ş
    "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u", // Š š Ţ ţ Ť ť Ŧ ŧ Ũ ũ Ū ū Ŭ ŭ Ů ů
    "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s", // Ű ű Ų ų Ŵ ŵ Ŷ ŷ Ÿ Ź ź Ż ż Ž ž ſ
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_line_up_with_their_letters() {
        // Spot checks at the start, middle and end of each row catch an off-by-one in the tables.
        let expected = [
            ('À', "a"),
            ('Æ', "ae"),
            ('Ç', "c"),
            ('Ï', "i"),
            ('Ð', "d"),
            ('Ñ', "n"),
            ('×', "×"),
            ('Ø', "o"),
            ('Þ', "th"),
            ('ß', "ss"),
            ('é', "e"),
            ('÷', "÷"),
            ('ÿ', "y"),
            ('Ā', "a"),
            ('ď', "d"),
            ('Đ', "d"),
            ('ğ', "g"),
            ('Ġ', "g"),
            ('į', "i"),
            ('İ', "i"),
            ('Ŀ', "l"),
            ('ŀ', "l"),
            ('ŏ', "o"),
            ('Ő', "o"),
            ('ş', "s"),
            ('Š', "s"),
            ('ů', "u"),
            ('Ű', "u"),
            ('ſ', "s"),
            ('Ł', "l"),
            ('œ', "oe"),
            ('Ÿ', "y"),
        ];
        for (letter, folded) in expected {
            assert_eq!(normalize_text(&letter.to_string()), folded, "{letter}");
        }
    }
}
