//! Dates as JavaScript writes them (`toISOString`): milliseconds since the epoch to and from
//! `YYYY-MM-DDTHH:MM:SS.sssZ`, on the proleptic Gregorian calendar.

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2024-01-02T03:04:05.678Z` for `ms` milliseconds since the epoch (a valid date).
pub fn format_iso(ms: f64) -> String {
    let ms = ms as i64;
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{}{:06}", if year < 0 { '-' } else { '+' }, year.abs())
    };
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Milliseconds since the epoch of `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.sss]]` with `Z` or a
/// `±HH:MM` offset (a time without either is taken as UTC).
pub fn parse_iso(text: &str) -> Option<f64> {
    let number = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-');
    let year = number(parts.next()?)?;
    let month = number(parts.next()?)?;
    let day = number(parts.next()?)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * MS_PER_DAY;
    if let Some(time) = time {
        let (clock, offset) = if let Some(clock) = time.strip_suffix('Z') {
            (clock, 0)
        } else if let Some(at) = time.rfind(['+', '-']) {
            let (clock, zone) = time.split_at(at);
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (hours, minutes) = zone[1..].split_once(':')?;
            (
                clock,
                sign * (number(hours)? * 60 + number(minutes)?) * 60_000,
            )
        } else {
            (time, 0)
        };
        let (clock, fraction) = match clock.split_once('.') {
            Some((clock, fraction)) => (clock, fraction),
            None => (clock, "0"),
        };
        let mut fields = clock.split(':');
        let hours = number(fields.next()?)?;
        let minutes = number(fields.next()?)?;
        let seconds = fields.next().map_or(Some(0), number)?;
        if fields.next().is_some() || hours > 24 || minutes > 59 || seconds > 59 {
            return None;
        }
        let millis = number(&format!("{fraction:0<3}")[..3])?;
        ms += ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis - offset;
    }
    Some(ms as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_javascript_does() {
        assert_eq!(format_iso(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_iso(1_579_089_600_000.0), "2020-01-15T12:00:00.000Z");
        assert_eq!(format_iso(-1.0), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_iso(951_782_400_000.0), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            format_iso(-62_198_755_200_000.0),
            "-000001-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn parses_what_it_formats() {
        for ms in [0.0, 1_579_089_600_000.0, -1.0, 951_782_400_123.0, 1.7e12] {
            assert_eq!(parse_iso(&format_iso(ms)), Some(ms));
        }
        assert_eq!(parse_iso("1970-01-02"), Some(86_400_000.0));
        assert_eq!(parse_iso("1970-01-01T01:00+01:00"), Some(0.0));
        assert_eq!(parse_iso("1970-01-01T00:00:01.5Z"), Some(1500.0));
        assert_eq!(parse_iso("1970-13-01"), None);
        assert_eq!(parse_iso("yesterday"), None);
    }
}
