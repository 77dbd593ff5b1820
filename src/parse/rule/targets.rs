//! The typed readings of `-j TARGET` and `-g CHAIN`: the built-in targets the analysis
//! needs (verdicts, NAT, marks) read their options into a [`TargetKind`]; a user chain
//! takes no options.

use smallvec::SmallVec;

use crate::model::RuleBody;
use crate::model::addr::PortRange;
use crate::model::matcher::OptionRange;
use crate::model::target::{MarkOp, NatRange, Target, TargetKind, is_builtin_target};
use crate::model::word::Word;
use crate::parse::error::ParseErrorKind;
use crate::source::Span;

use super::values::{parse_nat_range, parse_value_mask, port_range};
use super::{Group, RuleError, option_error};

/// Reads the typed form of a target whose options are `range` of the body's, marking the
/// options it understood, and sets it as the body's target.
// Inlined into its one caller (rule_args), with target_kind, as both were when they lived
// in one file: as a call, `inspect` ran 1.1% more instructions (callgrind, 5,000-service
// dump), and 1.3% more with target_kind called.
#[inline]
pub(super) fn typed_target<'a>(
    name: &'a str,
    name_word: &Word<'_>,
    goto: bool,
    j_word: &Word<'_>,
    range: OptionRange,
    words: &[Word<'a>],
    body: &mut RuleBody<'a>,
) -> Result<(), RuleError> {
    let options = &mut body.options[range.start as usize..range.end as usize];
    let start = j_word.start();
    let end = options
        .last()
        .map_or(name_word.end(), |o| o.span.end as usize);
    let mut group = Group {
        options,
        words,
        start,
        end,
    };
    let kind = if goto {
        chain_jump(name, &group)?
    } else {
        target_kind(name, &mut group)?
    };
    body.target = Some(Target {
        name,
        goto,
        options: range,
        kind,
        span: Span::new(start, end),
    });
    Ok(())
}

/// What `-j NAME` does, read from its options.
// Inlined: see typed_target.
#[inline]
fn target_kind<'a>(name: &'a str, group: &mut Group<'_, 'a>) -> Result<TargetKind<'a>, RuleError> {
    // The targets typed here are all built in, so only the others need the list.
    Ok(match name {
        "ACCEPT" => TargetKind::Accept,
        "DROP" => TargetKind::Drop,
        "RETURN" => TargetKind::Return,
        "REJECT" => reject(group),
        "DNAT" => TargetKind::Dnat {
            to: nat_ranges(group, "to-destination")?,
        },
        "SNAT" => TargetKind::Snat {
            to: nat_ranges(group, "to-source")?,
        },
        "MASQUERADE" => {
            let (to_ports, random_fully) = port_mapping(group)?;
            TargetKind::Masquerade {
                to_ports,
                random_fully,
            }
        }
        "REDIRECT" => TargetKind::Redirect {
            to_ports: port_mapping(group)?.0,
        },
        "MARK" => TargetKind::Mark(mark_op(group)?),
        "CONNMARK" => {
            for option in group.options.iter_mut() {
                // Only --restore-mark touches the packet mark, which the analysis tracks.
                option.understood = option.name != "restore-mark";
            }
            TargetKind::Connmark
        }
        "LOG" | "NFLOG" => {
            for option in group.options.iter_mut() {
                option.understood = true;
            }
            TargetKind::Log
        }
        _ if is_builtin_target(name) => TargetKind::Other,
        _ => chain_jump(name, group)?,
    })
}

/// A jump or goto to the user chain `name`, which takes no options.
fn chain_jump<'a>(name: &'a str, group: &Group<'_, '_>) -> Result<TargetKind<'a>, RuleError> {
    match group.options.first() {
        Some(option) => Err(option_error(
            option,
            ParseErrorKind::OptionsOnChainJump(name.to_string()),
        )),
        None => Ok(TargetKind::Chain(name)),
    }
}

/// `REJECT [--reject-with TYPE]` (the last counts).
fn reject<'a>(group: &mut Group<'_, 'a>) -> TargetKind<'a> {
    let mut with = None;
    for option in group.options.iter_mut() {
        if option.name == "reject-with" {
            with = option.values.of(group.words).first().map(Word::text);
            option.understood = true;
        }
    }
    TargetKind::Reject { with }
}

/// The ranges of every `--to-destination` (DNAT) or `--to-source` (SNAT), named `wanted`.
fn nat_ranges(
    group: &mut Group<'_, '_>,
    wanted: &str,
) -> Result<SmallVec<[NatRange; 1]>, RuleError> {
    let mut to = SmallVec::new();
    for option in group.options.iter_mut() {
        if option.name == wanted {
            let text = option.value(group.words);
            to.push(parse_nat_range(&text).ok_or_else(|| {
                option_error(
                    option,
                    ParseErrorKind::BadValue {
                        what: "a NAT address (ADDR[-ADDR][:PORT[-PORT]])",
                        value: text.to_string(),
                    },
                )
            })?);
        }
        option.understood = matches!(
            option.name,
            "to-destination" | "to-source" | "random" | "random-fully" | "persistent"
        );
    }
    Ok(to)
}

/// MASQUERADE's or REDIRECT's `--to-ports P[-P]` (the last counts), and true for
/// `--random-fully`.
fn port_mapping(group: &mut Group<'_, '_>) -> Result<(Option<PortRange>, bool), RuleError> {
    let mut to_ports = None;
    let mut random_fully = false;
    for option in group.options.iter_mut() {
        match option.name {
            "to-ports" => {
                let text = option.value(group.words);
                to_ports = Some(port_range(&text, b'-').ok_or_else(|| {
                    option_error(option, ParseErrorKind::BadPort(text.to_string()))
                })?);
            }
            "random-fully" => random_fully = true,
            _ => {}
        }
        option.understood = matches!(option.name, "to-ports" | "random" | "random-fully");
    }
    Ok((to_ports, random_fully))
}

/// `MARK --set-xmark V/M | --set-mark V[/M] | --or-mark V | --and-mark V | --xor-mark V`.
fn mark_op(group: &mut Group<'_, '_>) -> Result<MarkOp, RuleError> {
    for option in group.options.iter_mut() {
        let Some((value, mask)) = parse_value_mask(&option.value(group.words)) else {
            continue;
        };
        let op = match option.name {
            "set-xmark" => MarkOp {
                value,
                mask: mask.unwrap_or(u32::MAX),
            },
            // --set-mark V/M zeroes M and ORs V: as an xmark, clear M|V then XOR V.
            "set-mark" => {
                let mask = mask.unwrap_or(u32::MAX);
                MarkOp {
                    value,
                    mask: mask | value,
                }
            }
            "or-mark" => MarkOp { value, mask: value },
            "and-mark" => MarkOp {
                value: 0,
                mask: !value,
            },
            "xor-mark" => MarkOp { value, mask: 0 },
            _ => continue,
        };
        option.understood = true;
        return Ok(op);
    }
    Err(group.incomplete(
        "MARK needs --set-xmark, --set-mark, --or-mark, --and-mark or --xor-mark with a number",
    ))
}
