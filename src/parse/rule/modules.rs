//! The typed readings of the `-m` modules the analysis needs: each reads its options'
//! values into a [`ModuleKind`] and marks the options it took into account.

use std::borrow::Cow;

use crate::model::RuleBody;
use crate::model::matcher::{
    MarkValue, Match, Module, ModuleKind, ModuleOption, Negatable, OptionRange, PortDirection,
    Statistic,
};
use crate::model::word::Word;
use crate::parse::error::ParseErrorKind;
use crate::source::Span;

use super::values::{parse_port_range, parse_value_mask};
use super::{Group, RuleError, option_error};

/// Reads the typed form of a `-m NAME` group whose options are `range` of the body's,
/// marking the options it understood, and appends it to the body's matches (built where
/// it is stored: returned, the module was copied twice more).
pub(super) fn typed_module<'a>(
    name: &'a str,
    m_word: &Word<'_>,
    range: OptionRange,
    words: &[Word<'a>],
    body: &mut RuleBody<'a>,
) -> Result<(), RuleError> {
    let options = &mut body.options[range.start as usize..range.end as usize];
    let start = m_word.start();
    let end = options.last().map_or(m_word.end(), |o| o.span.end as usize);
    let mut group = Group {
        options,
        words,
        start,
        end,
    };
    let kind = match name {
        "tcp" | "udp" | "sctp" | "udplite" => ports(&mut group)?,
        "multiport" => multiport(&mut group)?,
        "addrtype" => addrtype(&mut group)?,
        "mark" => mark(&mut group)?,
        "comment" => comment(&mut group)?,
        "statistic" => statistic(&mut group)?,
        "conntrack" | "state" => conntrack(&mut group)?,
        "set" => set(&mut group)?,
        "recent" => recent(&mut group),
        "nfacct" => nfacct(&mut group)?,
        "physdev" => ModuleKind::Physdev,
        _ => ModuleKind::Other,
    };
    body.matches.push(Match::Module(Module {
        name,
        options: range,
        kind,
        span: Span::new(start, end),
    }));
    Ok(())
}

/// `-m tcp|udp|sctp|udplite [!] --sport P[:P] [!] --dport P[:P]` (the last of each counts).
fn ports<'a>(group: &mut Group<'_, 'a>) -> Result<ModuleKind<'a>, RuleError> {
    let mut sport = None;
    let mut dport = None;
    for option in group.options.iter_mut() {
        let slot = match option.name {
            "sport" | "source-port" => &mut sport,
            "dport" | "destination-port" => &mut dport,
            _ => continue,
        };
        let value = option.value(group.words);
        let range = parse_port_range(&value)
            .ok_or_else(|| option_error(option, ParseErrorKind::BadPort(value.to_string())))?;
        *slot = Some(Negatable {
            value: range,
            negated: option.negated,
        });
        option.understood = true;
    }
    Ok(ModuleKind::Ports { sport, dport })
}

/// `-m multiport [!] --dports|--sports|--ports P,P:P,...` (one required; the last counts).
fn multiport<'a>(group: &mut Group<'_, 'a>) -> Result<ModuleKind<'a>, RuleError> {
    let mut found = None;
    for option in group.options.iter_mut() {
        let direction = match option.name {
            "dports" | "destination-ports" => PortDirection::Destination,
            "sports" | "source-ports" => PortDirection::Source,
            "ports" => PortDirection::Either,
            _ => continue,
        };
        let mut ports = Vec::new();
        for part in option.value(group.words).split(',') {
            ports.push(
                parse_port_range(part).ok_or_else(|| {
                    option_error(option, ParseErrorKind::BadPort(part.to_string()))
                })?,
            );
        }
        found = Some((
            direction,
            Negatable {
                value: ports,
                negated: option.negated,
            },
        ));
        option.understood = true;
    }
    let (direction, ports) =
        found.ok_or_else(|| group.incomplete("multiport needs --dports, --sports or --ports"))?;
    Ok(ModuleKind::Multiport { direction, ports })
}

/// `-m addrtype [!] --src-type T,... [!] --dst-type T,...`.
fn addrtype<'a>(group: &mut Group<'_, 'a>) -> Result<ModuleKind<'a>, RuleError> {
    let mut src_type = None;
    let mut dst_type = None;
    for option in group.options.iter_mut() {
        let slot = match option.name {
            "src-type" => &mut src_type,
            "dst-type" => &mut dst_type,
            _ => continue,
        };
        *slot = Some(Negatable {
            value: name_list(option, group.words)?,
            negated: option.negated,
        });
        option.understood = true;
    }
    Ok(ModuleKind::AddrType { src_type, dst_type })
}

/// `-m mark [!] --mark VALUE[/MASK]`.
fn mark<'a>(group: &mut Group<'_, 'a>) -> Result<ModuleKind<'a>, RuleError> {
    let words = group.words;
    let option = group.required("mark", "-m mark needs --mark VALUE[/MASK]")?;
    let text = option.value(words);
    let (value, mask) = parse_value_mask(&text).ok_or_else(|| {
        option_error(
            option,
            ParseErrorKind::BadValue {
                what: "--mark (expected VALUE or VALUE/MASK, e.g. 0x4000/0x4000)",
                value: text.to_string(),
            },
        )
    })?;
    option.understood = true;
    Ok(ModuleKind::Mark(Negatable {
        value: MarkValue {
            value,
            mask: mask.unwrap_or(u32::MAX),
        },
        negated: option.negated,
    }))
}

/// `-m comment --comment TEXT`.
fn comment<'a>(group: &mut Group<'_, 'a>) -> Result<ModuleKind<'a>, RuleError> {
    let words = group.words;
    let option = group.required("comment", "-m comment needs --comment TEXT")?;
    option.understood = true;
    Ok(ModuleKind::Comment(option.value(words)))
}

/// `-m statistic --mode random --probability P` / `--mode nth --every N [--packet P]`.
fn statistic(group: &mut Group<'_, '_>) -> Result<ModuleKind<'static>, RuleError> {
    let Some(mode_option) = group.find("mode") else {
        return Err(group.incomplete("-m statistic needs --mode random|nth"));
    };
    let mode = mode_option.value(group.words);
    let (statistic, negated) = match mode.as_ref() {
        "random" => random_statistic(group)?,
        "nth" => nth_statistic(group)?,
        _ => {
            return Err(option_error(
                mode_option,
                ParseErrorKind::BadValue {
                    what: "--mode (expected random or nth)",
                    value: mode.to_string(),
                },
            ));
        }
    };
    for option in group.options.iter_mut() {
        option.understood = matches!(option.name, "mode" | "probability" | "every" | "packet");
    }
    Ok(ModuleKind::Statistic(Negatable {
        value: statistic,
        negated,
    }))
}

/// `--mode random`'s `--probability P`, a number from 0 to 1; and true if it is negated.
fn random_statistic(group: &Group<'_, '_>) -> Result<(Statistic, bool), RuleError> {
    let option = group
        .find("probability")
        .ok_or_else(|| group.incomplete("--mode random needs --probability P"))?;
    let text = option.value(group.words);
    let probability: f64 = text
        .parse()
        .ok()
        .filter(|p: &f64| (0.0..=1.0).contains(p))
        .ok_or_else(|| {
            option_error(
                option,
                ParseErrorKind::BadValue {
                    what: "--probability (expected a number from 0 to 1)",
                    value: text.to_string(),
                },
            )
        })?;
    Ok((Statistic::Random { probability }, option.negated))
}

/// `--mode nth`'s `--every N [--packet P]`; and true if either is negated.
fn nth_statistic(group: &Group<'_, '_>) -> Result<(Statistic, bool), RuleError> {
    let mut negated = false;
    let mut count = |name: &str| -> Result<u32, RuleError> {
        let Some(option) = group.find(name) else {
            return Ok(0);
        };
        negated |= option.negated;
        let text = option.value(group.words);
        text.parse().map_err(|_| {
            option_error(
                option,
                ParseErrorKind::BadValue {
                    what: "a count",
                    value: text.to_string(),
                },
            )
        })
    };
    let every = count("every")?;
    let packet = count("packet")?;
    if every == 0 {
        return Err(group.incomplete("--mode nth needs --every N"));
    }
    Ok((Statistic::Nth { every, packet }, negated))
}

/// `-m conntrack [!] --ctstate S,...` or `-m state [!] --state S,...` (the last counts).
fn conntrack<'a>(group: &mut Group<'_, 'a>) -> Result<ModuleKind<'a>, RuleError> {
    let mut states = None;
    for option in group.options.iter_mut() {
        if option.name == "ctstate" || option.name == "state" {
            states = Some(Negatable {
                value: name_list(option, group.words)?,
                negated: option.negated,
            });
            option.understood = true;
        }
    }
    Ok(ModuleKind::Conntrack { states })
}

/// `-m set [!] --match-set NAME FLAGS`.
fn set<'a>(group: &mut Group<'_, 'a>) -> Result<ModuleKind<'a>, RuleError> {
    let words = group.words;
    let option = group.required("match-set", "-m set needs --match-set NAME FLAGS")?;
    option.understood = true;
    Ok(ModuleKind::Set {
        name: option.value(words),
        flags: option
            .values
            .of(words)
            .get(1)
            .map_or(Cow::Borrowed(""), Word::text),
        negated: option.negated,
    })
}

/// `-m recent --name N --rcheck|--set|--update|--remove ...`: every option understood.
fn recent<'a>(group: &mut Group<'_, 'a>) -> ModuleKind<'a> {
    let mut name = Cow::Borrowed("DEFAULT");
    let mut action = "";
    for option in group.options.iter_mut() {
        match option.name {
            "name" => name = option.value(group.words),
            "rcheck" | "set" | "update" | "remove" => action = option.name,
            _ => {}
        }
        option.understood = true;
    }
    ModuleKind::Recent { name, action }
}

/// `-m nfacct --nfacct-name NAME`.
fn nfacct<'a>(group: &mut Group<'_, 'a>) -> Result<ModuleKind<'a>, RuleError> {
    let words = group.words;
    let option = group.required("nfacct-name", "-m nfacct needs --nfacct-name NAME")?;
    option.understood = true;
    Ok(ModuleKind::Nfacct {
        name: option.value(words),
    })
}

/// The comma-separated names of `option`'s first value (`LOCAL`, `RELATED,ESTABLISHED`),
/// which must be a slice of the source (iptables-save never quotes them).
fn name_list<'a>(option: &ModuleOption<'a>, words: &[Word<'a>]) -> Result<Vec<&'a str>, RuleError> {
    match option.values.of(words).first().and_then(Word::borrowed) {
        Some(list) => Ok(list.split(',').collect()),
        None => Err(option_error(
            option,
            ParseErrorKind::MissingValue(format!("--{}", option.name)),
        )),
    }
}
