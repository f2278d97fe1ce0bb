//! Times as the Admin UI reads them: milliseconds since the Unix epoch, and JavaScript's
//! `Date.prototype.toISOString()` form (`2024-05-01T12:34:56.789Z`), which is what a `Date`
//! becomes in the JSON socket.io sends.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 for a time before it).
pub(super) fn millis(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// `time` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
pub(super) fn iso8601(time: SystemTime) -> String {
    let ms = millis(time);
    let (days, ms_of_day) = (ms / 86_400_000, ms % 86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, milli) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1_000 % 60,
        ms_of_day % 1_000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// The date `days` after 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn formats_as_javascript_does() {
        // Values from `new Date(ms).toISOString()` in Node.
        assert_eq!(iso8601(at(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(at(951_782_400_000)), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(at(1_714_566_896_789)), "2024-05-01T12:34:56.789Z");
        assert_eq!(iso8601(at(4_102_444_799_999)), "2099-12-31T23:59:59.999Z");
        assert_eq!(millis(at(1_714_566_896_789)), 1_714_566_896_789);
    }
}
