//! Durations as Go users write them: Go's `time.ParseDuration` (`300ms`, `1m30s`, `1h`,
//! `1.5h`), and a bare whole number meaning seconds (how modgate's settings file has always
//! read them). The one parser of flags, environment and file (`config/file_duration.rs` reads
//! the file's), and of the doctor's `--timeout`; a leaf.

use std::time::Duration;

/// What a duration may look like, for error messages.
pub const SYNTAX: &str = "want a Go duration such as 300ms, 10s, 1m30s or 1h (units ns, us, ms, s, m, h), or a whole number of seconds";

/// A text that is not a duration: the text, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?}: {why} ({SYNTAX})")]
pub struct DurationError {
    /// The text as given.
    pub text: String,
    /// Why: empty, too large, negative, not a duration.
    pub why: &'static str,
}

/// Parses `text`: Go's duration syntax, or a whole number of seconds. Negative durations
/// are refused (no setting of modgate's means one).
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    let bad = |why: &'static str| DurationError {
        text: text.to_string(),
        why,
    };
    if s.is_empty() {
        return Err(bad("empty"));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| bad("too large"));
    }
    let s = match s.strip_prefix('+') {
        Some(rest) => rest,
        None if s.starts_with('-') => {
            return match go_duration(&s[1..]) {
                Some(0) => Ok(Duration::ZERO),
                _ => Err(bad("negative")),
            };
        }
        None => s,
    };
    match go_duration(s) {
        Some(ns) => Ok(Duration::from_nanos(ns)),
        None => Err(bad("not a duration")),
    }
}

/// Go's `time.ParseDuration` without its sign, in nanoseconds: `None` when it is not one
/// (or overflows Go's int64 range, as Go's does).
fn go_duration(s: &str) -> Option<u64> {
    if s == "0" {
        return Some(0);
    }
    if s.is_empty() {
        return None;
    }
    let mut rest = s;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        // The number: digits, an optional '.' and more digits (at least one digit in all).
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                a.split_at(n)
            }
            None => ("", after),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(after.len(), |(i, _)| i);
        let (unit, next) = after.split_at(unit_len);
        let per: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let whole: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        total = total.checked_add(whole.checked_mul(per)?)?;
        if !frac.is_empty() {
            // The fraction, rounded down to the nanosecond as Go's is.
            let digits = frac.len().min(30);
            let f: u128 = frac[..digits].parse().ok()?;
            total = total.checked_add(f * per / 10u128.pow(digits as u32))?;
        }
        rest = next;
    }
    (total <= i64::MAX as u128).then_some(total as u64)
}

/// Writes `d` as Go's `time.Duration.String` does (`1m30s`, `300ms`, `0s`).
pub fn format(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000_000_000 {
        let (v, unit) = match ns {
            n if n < 1_000 => return format!("{n}ns"),
            n if n < 1_000_000 => (n as f64 / 1e3, "µs"),
            n => (n as f64 / 1e6, "ms"),
        };
        return format!("{}{unit}", trim_float(v));
    }
    let secs = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if frac == 0 {
        out.push_str(&format!("{s}s"));
    } else {
        let f = format!("{frac:09}");
        out.push_str(&format!("{s}.{}s", f.trim_end_matches('0')));
    }
    out
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_syntax_and_bare_seconds() {
        let ms = Duration::from_millis;
        for (text, want) in [
            ("300ms", ms(300)),
            ("10s", ms(10_000)),
            ("1m30s", ms(90_000)),
            ("1h", ms(3_600_000)),
            ("1.5h", ms(5_400_000)),
            ("2h45m", ms(9_900_000)),
            (".5s", ms(500)),
            ("1.s", ms(1000)),
            ("1us", Duration::from_micros(1)),
            ("1µs", Duration::from_micros(1)),
            ("1μs", Duration::from_micros(1)),
            ("7ns", Duration::from_nanos(7)),
            ("+5s", ms(5000)),
            ("0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("30", ms(30_000)),
            (" 45 ", ms(45_000)),
            ("1.0000000019s", Duration::from_nanos(1_000_000_001)),
        ] {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn what_go_refuses_is_refused_with_the_syntax() {
        for (text, why) in [
            ("", "empty"),
            ("1", ""),
            ("10", ""),
            ("s", "not a duration"),
            ("1x", "not a duration"),
            ("1.5", "not a duration"),
            ("1m30", "not a duration"),
            (".s", "not a duration"),
            ("1 s", "not a duration"),
            ("-1s", "negative"),
            ("3000000h", "not a duration"),
            ("99999999999999999999", "too large"),
        ] {
            match parse(text) {
                Ok(d) if why.is_empty() => assert_eq!(d.as_secs(), text.parse::<u64>().unwrap()),
                Ok(d) => panic!("{text}: {d:?}"),
                Err(e) => {
                    assert_eq!(e.why, why);
                    assert_eq!(e.to_string(), format!("{text:?}: {why} ({SYNTAX})"));
                }
            }
        }
    }

    #[test]
    fn formatted_as_go_prints_them() {
        let ms = Duration::from_millis;
        for (d, want) in [
            (Duration::ZERO, "0s"),
            (ms(300), "300ms"),
            (ms(1500), "1.5s"),
            (ms(90_000), "1m30s"),
            (ms(3_600_000), "1h0m0s"),
            (ms(5_400_000), "1h30m0s"),
            (Duration::from_micros(2), "2µs"),
            (Duration::from_nanos(7), "7ns"),
        ] {
            assert_eq!(format(d), want);
            assert_eq!(parse(want), Ok(d), "{want}");
        }
    }
}
