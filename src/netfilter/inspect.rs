//! What a dump is, before anyone trusts a verdict from it: generator, backend, family,
//! tables with their sizes, and whether it is complete, truncated, a fragment or split
//! across iptables backends.

use crate::model::{Backend, Dump, Family, RulesetId};
use crate::parse::ParseError;

/// The facts `inspect` reports for one input.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// One entry per `iptables-save` run in the input.
    pub rulesets: Vec<RulesetSummary>,
    /// Lines in the input.
    pub lines: u32,
    /// Total rules parsed.
    pub rules: usize,
    /// Number of parse errors.
    pub errors: usize,
    /// Lines where bytes that were not UTF-8 were escaped.
    pub lossy_lines: Vec<u32>,
    /// Things to know before trusting an analysis of this input.
    pub warnings: Vec<String>,
}

/// One ruleset's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct RulesetSummary {
    /// Line where it starts.
    pub first_line: u32,
    /// `iptables-save`, `ip6tables-save`, ... if the header says.
    pub program: Option<String>,
    /// iptables version from the header.
    pub version: Option<String>,
    /// Backend from the header.
    pub backend: Option<Backend>,
    /// IPv4 or IPv6.
    pub family: Family,
    /// Tables in order.
    pub tables: Vec<TableSummary>,
    /// True if the input had rules outside any `*table` (grep output).
    pub fragment: bool,
    /// True if a table lacks its COMMIT.
    pub truncated: bool,
    /// Line of the legacy-tables warning, if present.
    pub legacy_tables_warning: Option<u32>,
}

/// One table's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSummary {
    /// `nat`, `filter`, ...
    pub name: String,
    /// Line of `*name`; `None` when assumed for a fragment.
    pub line: Option<u32>,
    /// Line of `COMMIT`.
    pub commit_line: Option<u32>,
    /// Chains declared or referenced.
    pub chains: usize,
    /// Rules.
    pub rules: usize,
}

/// Summarises a parsed dump.
pub fn inspect(dump: &Dump<'_>, errors: &[ParseError], lossy_lines: &[u32]) -> Inspection {
    let mut warnings = Vec::new();
    let mut rulesets = Vec::new();
    for (index, ruleset) in dump.rulesets.iter().enumerate() {
        let mut tables = Vec::new();
        for &table_id in &ruleset.tables {
            let table = dump.table(table_id);
            let rules = table
                .chains
                .iter()
                .map(|&c| dump.chain(c).rules.len())
                .sum();
            tables.push(TableSummary {
                name: table.name.to_string(),
                line: table.line,
                commit_line: table.commit_line,
                chains: table.chains.len(),
                rules,
            });
        }
        let fragment = tables.iter().any(|t| t.line.is_none());
        let truncated = tables
            .iter()
            .any(|t| t.line.is_some() && t.commit_line.is_none());
        let summary = RulesetSummary {
            first_line: ruleset.first_line,
            program: ruleset.generator.map(|g| g.program.to_string()),
            version: ruleset.generator.map(|g| g.version.to_string()),
            backend: ruleset.generator.and_then(|g| g.backend),
            family: ruleset.family,
            tables,
            fragment,
            truncated,
            legacy_tables_warning: ruleset.legacy_tables_warning,
        };
        warnings.extend(ruleset_warnings(dump, RulesetId(index as u32), &summary));
        rulesets.push(summary);
    }
    if rulesets.is_empty() {
        warnings.push("the input has no rules and no tables: is this iptables-save output?".into());
    }
    let backends: Vec<Backend> = rulesets
        .iter()
        .filter(|r| r.family == Family::Ipv4)
        .filter_map(|r| r.backend)
        .collect();
    if backends.contains(&Backend::Legacy) && backends.contains(&Backend::NfTables) {
        warnings.push(
            "the input holds both nf_tables and legacy IPv4 rulesets: the kernel applies both, so a verdict from one alone may be wrong".into(),
        );
    }
    if !lossy_lines.is_empty() {
        warnings.push(format!(
            "{} line(s) contain bytes that are not UTF-8 (shown as \\xNN), first on line {}",
            lossy_lines.len(),
            lossy_lines[0]
        ));
    }
    Inspection {
        rulesets,
        lines: dump.line_count,
        rules: dump.rules.len(),
        errors: errors.len(),
        lossy_lines: lossy_lines.to_vec(),
        warnings,
    }
}

/// Warnings about one ruleset.
fn ruleset_warnings(dump: &Dump<'_>, id: RulesetId, summary: &RulesetSummary) -> Vec<String> {
    let mut warnings = Vec::new();
    let name = format!("ruleset at line {}", summary.first_line);
    if summary.fragment {
        let assumed: Vec<&str> = summary
            .tables
            .iter()
            .filter(|t| t.line.is_none())
            .map(|t| t.name.as_str())
            .collect();
        warnings.push(format!(
            "{name} is a fragment (rules without a `*table` header, as from `iptables-save | grep`): assumed table(s) {}; chains not in the fragment are unknown",
            assumed.join(", ")
        ));
    }
    if summary.truncated {
        warnings.push(format!(
            "{name} is truncated: a table has no COMMIT, so later rules may be missing"
        ));
    }
    if let Some(line) = summary.legacy_tables_warning {
        warnings.push(format!(
            "{name}: line {line} says iptables-legacy tables are present too; their rules are not in this dump (run iptables-legacy-save as well)"
        ));
    }
    if !summary.fragment && summary.tables.iter().all(|t| t.name != "nat") {
        warnings.push(format!(
            "{name} has no nat table: kube-proxy's DNAT and masquerade rules live there"
        ));
    }
    // iptables 1.8.7 cannot show some matches written by newer iptables-nft (it drops
    // `-m mark`, kubernetes/kubernetes#112477), so an nft dump from an old binary may lie.
    if summary.backend == Some(Backend::NfTables)
        && summary
            .version
            .as_deref()
            .is_some_and(|v| version_below(v, (1, 8, 8)))
    {
        warnings.push(format!(
            "{name} was saved by iptables {} (nf_tables): versions before 1.8.8 can silently omit matches (such as `-m mark`) from rules written by a newer iptables; if the node's kube-proxy image ships a newer iptables, save with that one",
            summary.version.as_deref().unwrap_or("?")
        ));
    }
    let _ = (dump, id);
    warnings
}

/// True if dotted `version` is below `(major, minor, patch)`.
fn version_below(version: &str, floor: (u32, u32, u32)) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let v = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    v < floor
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_text;

    #[test]
    fn fragment_and_truncation_are_reported() {
        let parsed = parse_text("-A KUBE-NODEPORTS -p tcp -m tcp --dport 1 -j KUBE-SVC-X\n");
        let inspection = inspect(&parsed.dump, &parsed.errors(), &[]);
        assert!(inspection.rulesets[0].fragment);
        assert!(inspection.warnings[0].contains("fragment"));

        let parsed = parse_text("*nat\n-A X -j ACCEPT\n");
        let inspection = inspect(&parsed.dump, &parsed.errors(), &[]);
        assert!(inspection.rulesets[0].truncated);
        assert_eq!(inspection.errors, 1);
    }

    #[test]
    fn mixed_backends_warn() {
        let text = "# Generated by iptables-save v1.8.9 (nf_tables) on x\n*nat\nCOMMIT\n\
# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n\
# Generated by iptables-save v1.8.9 (legacy) on x\n*nat\nCOMMIT\n";
        let parsed = parse_text(text);
        let inspection = inspect(&parsed.dump, &parsed.errors(), &[]);
        assert_eq!(inspection.rulesets.len(), 2);
        assert!(
            inspection
                .warnings
                .iter()
                .any(|w| w.contains("both nf_tables and legacy"))
        );
        assert!(
            inspection
                .warnings
                .iter()
                .any(|w| w.contains("legacy tables are present"))
        );
    }

    #[test]
    fn old_nft_iptables_warns_about_skew() {
        assert!(version_below("1.8.7", (1, 8, 8)));
        assert!(!version_below("1.8.10", (1, 8, 8)));
    }
}
