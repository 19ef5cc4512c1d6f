//! Instants as the module formats carry them: [`Timestamp`], a UTC time with whole
//! seconds (pseudo-versions, `.info` files), and Go's `time.Parse` of the RFC 3339 layout
//! (the `Time` of a proxy's `.info`), with the proleptic Gregorian calendar arithmetic done
//! here rather than by a time crate.

use std::fmt;

/// A UTC instant with whole-second precision: seconds since the Unix epoch.
///
/// [`Default`] is Go's zero `time.Time`, 0001-01-01T00:00:00Z ([`Timestamp::ZERO`]),
/// not the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z (negative before it).
    pub unix: i64,
}

/// Years beyond this (either side of year 0) are rejected by [`Timestamp::from_civil`]
/// to keep the day arithmetic far from overflow.
const MAX_YEAR: i64 = 1 << 40;

/// Seconds from 0001-01-01T00:00:00Z to the Unix epoch.
const ZERO_UNIX: i64 = -62_135_596_800;

impl Default for Timestamp {
    /// Go's zero time, 0001-01-01T00:00:00Z.
    fn default() -> Self {
        Timestamp::ZERO
    }
}

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `(y, m, d)` of `days` since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // m is in 1..=12 and d in 1..=31 by construction.
    let m = u32::try_from(m).unwrap_or(1);
    let d = u32::try_from(d).unwrap_or(1);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(m: u32, y: i64) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go's `appendInt(b, x, 4)` for a year: at least four digits, sign before padding.
fn push_year(out: &mut String, y: i64) {
    use std::fmt::Write as _;
    if y < 0 {
        out.push('-');
    }
    let _ = write!(out, "{:04}", y.unsigned_abs());
}

impl Timestamp {
    /// Go's zero `time.Time`: 0001-01-01T00:00:00Z (used by zero pseudo-versions).
    pub const ZERO: Timestamp = Timestamp { unix: ZERO_UNIX };

    /// The instant `unix` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix(unix: i64) -> Self {
        Timestamp { unix }
    }

    /// The instant at the given UTC civil date and time, if every field is in range
    /// (month 1–12, day within the month, hour 0–23, minute and second 0–59).
    pub fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        min: u32,
        sec: u32,
    ) -> Option<Self> {
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in(month, year)
            || hour > 23
            || min > 59
            || sec > 59
            || !(-MAX_YEAR..=MAX_YEAR).contains(&year)
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let secs = i64::from(hour * 3600 + min * 60 + sec);
        days.checked_mul(86_400)?
            .checked_add(secs)
            .map(Timestamp::from_unix)
    }

    /// The UTC civil date and time: `(year, month, day, hour, minute, second)`.
    pub fn to_civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.unix.div_euclid(86_400);
        let secs = self.unix.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        // secs is in 0..86400, so these fit in u32.
        let secs = u32::try_from(secs).unwrap_or(0);
        (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
    }

    /// Parses the pseudo-version time form `yyyymmddhhmmss` (Go layout
    /// `"20060102150405"`), accepting exactly what Go's `time.Parse` accepts for it.
    pub fn parse_pseudo(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 14 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> u32 {
            b[r].iter().fold(0, |n, &c| n * 10 + u32::from(c - b'0'))
        };
        Timestamp::from_civil(
            i64::from(num(0..4)),
            num(4..6),
            num(6..8),
            num(8..10),
            num(10..12),
            num(12..14),
        )
    }

    /// Formats as `yyyymmddhhmmss` (Go layout `"20060102150405"`), as in pseudo-versions.
    pub fn format_pseudo(self) -> String {
        let (y, mo, d, h, mi, s) = self.to_civil();
        let mut out = String::with_capacity(14);
        push_year(&mut out, y);
        out.push_str(&format!("{mo:02}{d:02}{h:02}{mi:02}{s:02}"));
        out
    }

    /// Formats as RFC 3339 in UTC, `2006-01-02T15:04:05Z` (Go's `time.RFC3339` layout),
    /// as in the `Time` field of a proxy `.info` file.
    pub fn format_rfc3339(self) -> String {
        let (y, mo, d, h, mi, s) = self.to_civil();
        let mut out = String::with_capacity(20);
        push_year(&mut out, y);
        out.push_str(&format!("-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"));
        out
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, as [`Timestamp::format_rfc3339`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_rfc3339())
    }
}

/// An instant with nanoseconds, as Go's `time.Time` holds one after parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Instant {
    /// The whole seconds.
    pub at: Timestamp,
    /// Nanoseconds within the second (0..1e9).
    pub nanos: u32,
}

impl Instant {
    /// Go's `time.Parse(time.RFC3339, s)`, which `time.Time`'s JSON decoding uses (its
    /// strict checks are disabled in go 1.23, golang/go#54580): `2006-01-02T15:04:05`
    /// with a one- or two-digit hour, then an optional fraction of any length after `.`
    /// or `,` (nanoseconds: the first nine digits), then `Z` or `±hh:mm`. Month 1–12, day
    /// within the month, hour 0–23, minute and second 0–59; the zone's hour at most 24
    /// and its minute at most 60, as Go allows. `None` where Go returns an error.
    pub fn parse_rfc3339(s: &str) -> Option<Instant> {
        let b = s.as_bytes();
        let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
        let num = |r: std::ops::Range<usize>| -> u32 {
            b[r].iter().fold(0, |n, &c| n * 10 + u32::from(c - b'0'))
        };
        // stdLongYear: exactly four digits.
        if !(0..4).all(digit) {
            return None;
        }
        let year = i64::from(num(0..4));
        let mut i = 4;
        let lit = |i: &mut usize, c: u8| -> Option<()> { (b.get(*i) == Some(&c)).then(|| *i += 1) };
        // Two fixed digits (getnum with fixed = true).
        let two = |i: &mut usize| -> Option<u32> {
            (digit(*i) && digit(*i + 1)).then(|| {
                *i += 2;
                num(*i - 2..*i)
            })
        };
        lit(&mut i, b'-')?;
        let month = two(&mut i)?;
        lit(&mut i, b'-')?;
        let day = two(&mut i)?;
        lit(&mut i, b'T')?;
        // stdHour: one or two digits.
        if !digit(i) {
            return None;
        }
        let hour = if digit(i + 1) {
            i += 2;
            num(i - 2..i)
        } else {
            i += 1;
            num(i - 1..i)
        };
        lit(&mut i, b':')?;
        let min = two(&mut i)?;
        lit(&mut i, b':')?;
        let sec = two(&mut i)?;
        let mut nanos = 0u32;
        if matches!(b.get(i), Some(b'.' | b',')) && digit(i + 1) {
            let start = i + 1;
            let mut end = start;
            while digit(end) {
                end += 1;
            }
            let take = (end - start).min(9);
            let frac = num(start..start + take);
            nanos = frac * 10u32.pow(9 - take as u32);
            i = end;
        }
        let offset: i64 = match &b[i..] {
            [b'Z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
                if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
            {
                let h = num(i + 1..i + 3);
                let m = num(i + 4..i + 6);
                if h > 24 || m > 60 {
                    return None;
                }
                let off = i64::from(h * 3600 + m * 60);
                if *sign == b'-' { -off } else { off }
            }
            _ => return None,
        };
        let at = Timestamp::from_civil(year, month, day, hour, min, sec)?;
        Some(Instant {
            at: Timestamp::from_unix(at.unix - offset),
            nanos,
        })
    }

    /// RFC 3339 in UTC with the fraction Go's `RFC3339Nano` writes (trailing zeros
    /// dropped): `2018-02-14T15:44:20.5Z`.
    pub fn format_rfc3339_nano(self) -> String {
        let base = self.at.format_rfc3339();
        if self.nanos == 0 {
            return base;
        }
        let frac = format!("{:09}", self.nanos);
        format!(
            "{}.{}Z",
            base.trim_end_matches('Z'),
            frac.trim_end_matches('0')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<String> {
        Instant::parse_rfc3339(s).map(Instant::format_rfc3339_nano)
    }

    #[test]
    fn rfc3339_as_go_parses_it() {
        // (input, what Go's time.Parse(time.RFC3339, input).UTC().Format(RFC3339Nano)
        // gives, or None for an error), checked with go 1.23.
        let cases: &[(&str, Option<&str>)] = &[
            ("2018-02-14T15:44:20Z", Some("2018-02-14T15:44:20Z")),
            ("2018-02-14T16:44:20+01:00", Some("2018-02-14T15:44:20Z")),
            ("2018-02-14T15:44:20.25Z", Some("2018-02-14T15:44:20.25Z")),
            ("2018-02-14T15:44:20,25Z", Some("2018-02-14T15:44:20.25Z")),
            ("2018-02-14T5:44:20Z", Some("2018-02-14T05:44:20Z")),
            (
                "2018-02-14T15:44:20.1234567891Z",
                Some("2018-02-14T15:44:20.123456789Z"),
            ),
            ("2018-02-14T15:44:20+24:00", Some("2018-02-13T15:44:20Z")),
            ("2018-02-14T15:44:20-00:60", Some("2018-02-14T16:44:20Z")),
            (
                "2018-02-14T10:44:20.120-05:00",
                Some("2018-02-14T15:44:20.12Z"),
            ),
            ("0000-01-01T00:00:00Z", Some("0000-01-01T00:00:00Z")),
            ("2016-02-29T00:00:00Z", Some("2016-02-29T00:00:00Z")),
            ("2018-02-14 15:44:20Z", None),
            ("2018-02-14T15:44:20", None),
            ("2018-02-30T15:44:20Z", None),
            ("2018-02-14T15:44:20.Z", None),
            ("2018-02-14T15:44:20+0100", None),
            ("2018-02-14T15:44:20z", None),
            ("2018-02-14t15:44:20Z", None),
            ("2018-02-14T24:00:00Z", None),
            ("2018-02-14T15:60:00Z", None),
            ("2018-02-14T15:44:60Z", None),
            ("2018-13-14T15:44:20Z", None),
            ("2018-00-14T15:44:20Z", None),
            ("2018-2-14T15:44:20Z", None),
            ("18-02-14T15:44:20Z", None),
            ("+2018-02-14T15:44:20Z", None),
            ("2018-02-14T15:44:20+25:00", None),
            ("2018-02-14T15:44:20+1:00", None),
            ("2018-02-14T15:44:20ZZ", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(p(input).as_deref(), *want, "{input}");
        }
    }
}
