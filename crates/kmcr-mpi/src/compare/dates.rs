//! Birth dates compared: exact, a slip typing one digit or two neighbours, day and month swapped, partial dates.

use super::MISSING;
use crate::normalise::BirthDate;

pub(super) fn compare_birth_date(first: Option<BirthDate>, second: Option<BirthDate>) -> u8 {
    let (Some(first), Some(second)) = (first, second) else { return MISSING };
    let (Some(first_digits), Some(second_digits)) = (first.digits(), second.digits()) else {
        return compare_partial_birth_dates(first, second);
    };
    if first == second {
        return 0;
    }
    if first.year == second.year && first.month == second.day && first.day == second.month {
        return 1;
    }
    let n_differing = first_digits.iter().zip(&second_digits).filter(|(a, b)| a != b).count();
    let transposed_neighbours = n_differing == 2
        && (0..7).any(|idx| {
            first_digits[idx] == second_digits[idx + 1]
                && first_digits[idx + 1] == second_digits[idx]
                && first_digits[idx] != first_digits[idx + 1]
        });
    if n_differing == 1 || transposed_neighbours {
        return 2;
    }
    if first.year == second.year && first.month == second.month {
        return 4;
    }
    if first.year == second.year {
        return 5;
    }
    6
}

/// Dates of which either lacks its month or day (a partial date, or a part out of range): the year and whatever
/// parts both know. Agreeing on the year and one more part is strong; on the year alone, only as strong as that.
fn compare_partial_birth_dates(first: BirthDate, second: BirthDate) -> u8 {
    if first.year != second.year {
        return 6;
    }
    let agree = |first: Option<u8>, second: Option<u8>| match (first, second) {
        (Some(a), Some(b)) => Some(a == b),
        _ => None,
    };
    match (agree(first.month, second.month), agree(first.day, second.day)) {
        (Some(false), _) | (_, Some(false)) => 5,
        (Some(true), _) | (_, Some(true)) => 3,
        (None, None) => 5,
    }
}
