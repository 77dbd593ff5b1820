//! The values inside a rule's words: addresses, port ranges, NAT ranges, marks and plain
//! decimals, each read in one pass over a few bytes (std's parsers have the last word where
//! a fast path declines, and proptests pin the fast paths to them).

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use crate::model::addr::{Address, PortRange};
use crate::model::target::NatRange;

/// `text` split around its first `byte` (an ASCII byte, so both sides are whole
/// characters), like `str::split_once`, as a plain loop: the values split here are a few
/// bytes long, too short to pay for the setup of `split_once`'s memchr.
fn split_at_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == byte)?;
    Some((&text[..at], &text[at + 1..]))
}

/// An IPv4 or IPv6 address, as std's parser reads it. Dotted-quad IPv4, nearly every
/// address in a dump, is read by [`dotted_quad`] first; std has the last word on the rest.
fn parse_ip(text: &str) -> Option<IpAddr> {
    match dotted_quad(text) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None => text.parse().ok(),
    }
}

/// `A.B.C.D`, each part 0 to 255 in one to three digits without a leading zero: only
/// text that std's parser reads as the same address. `None` for anything else, which
/// may still be an address (see [`parse_ip`]).
fn dotted_quad(text: &str) -> Option<Ipv4Addr> {
    let bytes = text.as_bytes();
    let mut octets = [0u8; 4];
    let mut at = 0;
    for (index, octet) in octets.iter_mut().enumerate() {
        if index > 0 {
            if bytes.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let start = at;
        let mut value: u32 = 0;
        while at - start < 3
            && let Some(&digit) = bytes.get(at)
            && digit.is_ascii_digit()
        {
            value = value * 10 + u32::from(digit - b'0');
            at += 1;
        }
        let digits = at - start;
        if digits == 0 || (digits > 1 && bytes[start] == b'0') {
            return None;
        }
        *octet = u8::try_from(value).ok()?;
    }
    (at == bytes.len()).then(|| Ipv4Addr::from(octets))
}

/// `ADDR`, `ADDR/LEN` or `ADDR/MASK`.
pub fn parse_address(text: &str) -> Option<Address> {
    let (addr_text, suffix) = match split_at_byte(text, b'/') {
        Some((a, s)) => (a, Some(s)),
        None => (text, None),
    };
    let addr = parse_ip(addr_text)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match suffix {
        None => max,
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            u8::try_from(decimal(s)?).ok()?
        }
        Some(s) => {
            let mask = parse_ip(s)?;
            if mask.is_ipv4() != addr.is_ipv4() {
                return None;
            }
            match ipnet::ip_mask_to_prefix(mask) {
                Ok(prefix) => prefix,
                Err(_) => return Some(Address::Masked { addr, mask }),
            }
        }
    };
    if prefix > max {
        return None;
    }
    IpNet::new(addr, prefix).ok().map(Address::Net)
}

/// `PORT`, `FIRST:LAST`, `:LAST` or `FIRST:`.
pub fn parse_port_range(text: &str) -> Option<PortRange> {
    port_range(text, b':')
}

/// [`parse_port_range`], where `also` separates the two ports as well as `:` does (NAT
/// targets write `FIRST-LAST`).
pub(super) fn port_range(text: &str, also: u8) -> Option<PortRange> {
    let number = |s: &str, default: u16| -> Option<u16> {
        if s.is_empty() {
            Some(default)
        } else {
            u16::try_from(decimal(s)?).ok()
        }
    };
    let separator = text.bytes().position(|b| b == b':' || b == also);
    match separator.map(|at| (&text[..at], &text[at + 1..])) {
        None if !text.is_empty() => number(text, 0).map(PortRange::single),
        None => None,
        Some((first, last)) => {
            let range = PortRange {
                first: number(first, 0)?,
                last: number(last, u16::MAX)?,
            };
            (range.first <= range.last).then_some(range)
        }
    }
}

/// Digits only (leading zeros allowed), as a number: what `str::parse` gives for text
/// known to be all digits, without a second pass over it. `None` for an empty text, any
/// other character, or a value past `u32::MAX`.
fn decimal(text: &str) -> Option<u32> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u32, |value, byte| {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value.checked_mul(10)?.checked_add(u32::from(digit))
    })
}

/// `0x4000`, `0x4000/0x4000`, `16384`.
pub(super) fn parse_value_mask(text: &str) -> Option<(u32, Option<u32>)> {
    let number = |s: &str| -> Option<u32> {
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        }
    };
    match split_at_byte(text, b'/') {
        Some((value, mask)) => Some((number(value)?, Some(number(mask)?))),
        None => Some((number(text)?, None)),
    }
}

/// `ADDR[-ADDR][:PORT[-PORT]]`, `[V6ADDR]:PORT`, or `:PORT`.
pub fn parse_nat_range(text: &str) -> Option<NatRange> {
    let (addrs, ports) = if let Some(rest) = text.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        (addr, after.strip_prefix(':'))
    } else {
        match split_at_byte(text, b':') {
            // A second colon: an IPv6 address without brackets, so no ports.
            Some((_, after)) if after.as_bytes().contains(&b':') => (text, None),
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        }
    };
    let ports = match ports {
        Some(p) => Some(port_range(p, b'-')?),
        None => None,
    };
    let (first, last) = if addrs.is_empty() {
        (None, None)
    } else {
        let (first, last) = match split_at_byte(addrs, b'-') {
            Some((first, last)) => (parse_ip(first)?, parse_ip(last)?),
            None => {
                let only = parse_ip(addrs)?;
                (only, only)
            }
        };
        (Some(first), Some(last))
    };
    if first.is_none() && ports.is_none() {
        return None;
    }
    Some(NatRange { first, last, ports })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_quad_reads_what_std_reads() {
        for text in [
            "0.0.0.0",
            "10.96.0.10",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1.2.3.00",
            "1.2.3.0010",
            "1234.1.1.1",
            "1..2.3",
            ".1.2.3",
            "1.2.3.4.",
            "1.2.3.-4",
            "+1.2.3.4",
            "1.2.3.4 ",
            "::1",
            "::ffff:1.2.3.4",
            "",
        ] {
            let std: Option<IpAddr> = text.parse().ok();
            assert_eq!(parse_ip(text), std, "{text:?}");
            if let Some(fast) = dotted_quad(text) {
                assert_eq!(Some(IpAddr::V4(fast)), std, "{text:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn decimal_agrees_with_std(text in "[0-9]{0,12}|[0-9+ a-]{0,6}") {
            let std: Option<u32> = if text.bytes().all(|b| b.is_ascii_digit()) {
                text.parse().ok()
            } else {
                None
            };
            proptest::prop_assert_eq!(decimal(&text), std);
        }

        #[test]
        fn parse_ip_agrees_with_std(
            text in "[0-9.]{0,16}|[0-9.:a-f]{0,18}|[0-9]{1,4}(\\.[0-9]{1,4}){2,4}"
        ) {
            let std: Option<IpAddr> = text.parse().ok();
            proptest::prop_assert_eq!(parse_ip(&text), std);
        }
    }
}
