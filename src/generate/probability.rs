//! The text `iptables-save` prints for kube-proxy's `-m statistic --probability` values.
//!
//! kube-proxy writes `1/(n-i)` as decimal text; iptables parses it and stores
//! `lround(p * 2^31)` as a u32 in the kernel; `iptables-save` prints that fixed-point value
//! back with `%.11f`. So the printed text depends on how many decimals kube-proxy wrote.

/// Number of decimals kube-proxy used when writing probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WrittenDecimals {
    /// `%0.5f`: kube-proxy ≤ 1.16.
    Five,
    /// `%0.10f`: kube-proxy ≥ 1.17.
    Ten,
}

const FIXED_POINT_ONE: f64 = 2_147_483_648.0; // 2^31

/// Save-form text of the probability kube-proxy writes for picking one of `remaining`
/// endpoints (`1/remaining`), e.g. 3 → `0.33333333349` when written with ten decimals.
pub(crate) fn probability_text(remaining: usize, decimals: WrittenDecimals) -> String {
    let probability = 1.0 / remaining.max(1) as f64;
    let written = match decimals {
        WrittenDecimals::Five => format!("{probability:.5}"),
        WrittenDecimals::Ten => format!("{probability:.10}"),
    };
    // iptables: strtod, then lround(0x80000000 * value) into a u32.
    let parsed: f64 = written.parse().unwrap_or(probability);
    let stored = (parsed * FIXED_POINT_ONE)
        .round()
        .clamp(0.0, u32::MAX as f64) as u64;
    fixed_point_text(stored)
}

/// `printf("%.11f", stored / 2^31)` computed exactly with integers, rounding ties to even
/// as glibc does.
fn fixed_point_text(stored: u64) -> String {
    const SCALE: u128 = 100_000_000_000; // 10^11
    const DENOMINATOR: u128 = 1 << 31;
    let numerator = u128::from(stored) * SCALE;
    let mut scaled = numerator / DENOMINATOR;
    let remainder = numerator % DENOMINATOR;
    let half = DENOMINATOR / 2;
    if remainder > half || (remainder == half && scaled % 2 == 1) {
        scaled += 1;
    }
    format!("{}.{:011}", scaled / SCALE, scaled % SCALE)
}

#[cfg(test)]
mod tests {
    use super::{WrittenDecimals, fixed_point_text, probability_text};

    #[test]
    fn ten_decimal_probabilities_match_the_reference_list() {
        // §5.1 "Probability text", values round-tripped through iptables 1.8.9.
        let expected = [
            (2, "0.50000000000"),
            (3, "0.33333333349"),
            (4, "0.25000000000"),
            (5, "0.20000000019"),
            (6, "0.16666666651"),
            (7, "0.14285714272"),
            (8, "0.12500000000"),
            (9, "0.11111111101"),
            (10, "0.10000000009"),
            (11, "0.09090909082"),
            (12, "0.08333333349"),
            (20, "0.04999999981"),
            (100, "0.00999999978"),
        ];
        for (n, text) in expected {
            assert_eq!(probability_text(n, WrittenDecimals::Ten), text, "n = {n}");
        }
    }

    #[test]
    fn five_decimal_probabilities_match_the_reference_list() {
        let expected = [
            (2, "0.50000000000"),
            (3, "0.33332999982"),
            (5, "0.20000000019"),
            (6, "0.16667000018"),
            (7, "0.14286000002"),
            (9, "0.11110999994"),
            (11, "0.09090999980"),
            (12, "0.08332999982"),
            (100, "0.00999999978"),
        ];
        for (n, text) in expected {
            assert_eq!(probability_text(n, WrittenDecimals::Five), text, "n = {n}");
        }
    }

    #[test]
    fn exact_ties_round_to_even() {
        // 2^19 / 2^31 = 0.000244140625: the 12th decimal is a lone 5, kept even.
        assert_eq!(fixed_point_text(1 << 19), "0.00024414062");
        assert_eq!(fixed_point_text(3 << 19), "0.00073242188");
        assert_eq!(fixed_point_text(1 << 31), "1.00000000000");
    }
}
