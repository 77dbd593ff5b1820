//! A rule's arguments (the words after `-A CHAIN`) → typed matches and target.
//!
//! Grammar (see grammar/iptables-save.md): a rule is a sequence of
//! `[!] -s|-d|-p|-i|-o VALUE`, `[!] -f`, `-m MODULE option*` and `-j TARGET option*` /
//! `-g CHAIN`, where `option = [!] --name [!] value*`. Modules and targets the analysis
//! needs get typed readings; all others are kept with their raw options, never an error.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use smallvec::SmallVec;

use crate::model::RuleBody;
use crate::model::addr::{Address, PortRange, Protocol};
use crate::model::matcher::{
    Interface, MarkValue, Match, Module, ModuleKind, ModuleOption, Negatable, OptionRange,
    PortDirection, Statistic, WordRange,
};
use crate::model::target::{MarkOp, NatRange, Target, TargetKind, is_builtin_target};
use crate::model::word::Word;
use crate::parse::error::ParseErrorKind;
use crate::source::Span;

/// A rule error with absolute byte offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// First offending byte.
    pub start: usize,
    /// One past the last offending byte.
    pub end: usize,
}

impl RuleError {
    fn at(word: &Word<'_>, kind: ParseErrorKind) -> Self {
        RuleError {
            kind,
            start: word.start(),
            end: word.end(),
        }
    }
}

/// Interprets the body's words (filled by [`crate::parse::scan::words::split_words`]) into its
/// matches, target and options, which are cleared first.
pub fn rule_args(body: &mut RuleBody<'_>) -> Result<(), RuleError> {
    // Out of the body while typing, so that the words can be read while the rest of the
    // body is written; put back whatever happens.
    let words = std::mem::take(&mut body.words);
    let result = type_words(&words, body);
    body.words = words;
    result
}

fn type_words<'a>(words: &[Word<'a>], body: &mut RuleBody<'a>) -> Result<(), RuleError> {
    body.matches.clear();
    body.target = None;
    body.options.clear();
    let mut cursor = Cursor { words, pos: 0 };
    let mut protocol: Option<Protocol> = None;
    while let Some(word) = cursor.next() {
        let mut negated = false;
        let mut word = word;
        if is_bang(word) {
            word = cursor
                .next()
                .ok_or_else(|| RuleError::at(word, ParseErrorKind::DanglingNegation))?;
            negated = true;
        }
        let Some(option) = word.bare().filter(|w| w.starts_with('-')) else {
            return Err(RuleError::at(
                word,
                ParseErrorKind::StrayWord(word.text().into_owned()),
            ));
        };
        match RuleOption::named(option) {
            Some(kind @ (RuleOption::Source | RuleOption::Destination)) => {
                let (value, negated) = cursor.value_after(word, negated)?;
                let address = parse_address(&value.text()).ok_or_else(|| {
                    RuleError::at(value, ParseErrorKind::BadAddress(value.text().into_owned()))
                })?;
                let test = Negatable {
                    value: address,
                    negated,
                };
                body.matches.push(if kind == RuleOption::Source {
                    Match::Source(test)
                } else {
                    Match::Destination(test)
                });
            }
            Some(RuleOption::Protocol) => {
                let (value, negated) = cursor.value_after(word, negated)?;
                let proto = Protocol::from_name(&value.text()).ok_or_else(|| {
                    RuleError::at(
                        value,
                        ParseErrorKind::BadProtocol(value.text().into_owned()),
                    )
                })?;
                if !negated {
                    protocol = Some(proto);
                }
                body.matches.push(Match::Protocol(Negatable {
                    value: proto,
                    negated,
                }));
            }
            Some(kind @ (RuleOption::InInterface | RuleOption::OutInterface)) => {
                let (value, negated) = cursor.value_after(word, negated)?;
                let name = match value.borrowed() {
                    Some(name) => name,
                    // Interface names never need quoting; iptables-save never quotes them.
                    None => {
                        return Err(RuleError::at(
                            value,
                            ParseErrorKind::BadValue {
                                what: "an interface name (letters, digits, `.`, `-`, `_`, `+`)",
                                value: value.text().into_owned(),
                            },
                        ));
                    }
                };
                let test = Negatable {
                    value: Interface(name),
                    negated,
                };
                body.matches.push(if kind == RuleOption::InInterface {
                    Match::InInterface(test)
                } else {
                    Match::OutInterface(test)
                });
            }
            Some(RuleOption::Fragment) => body.matches.push(Match::Fragment { negated }),
            Some(RuleOption::Match) => {
                if negated {
                    return Err(RuleError::at(word, ParseErrorKind::DanglingNegation));
                }
                let name_word = cursor.required(word)?;
                let name = borrowed_name(name_word)?;
                let options = cursor.options(&mut body.options);
                typed_module(name, word, options, words, body)?;
            }
            Some(kind @ (RuleOption::Jump | RuleOption::Goto)) => {
                if negated {
                    return Err(RuleError::at(word, ParseErrorKind::DanglingNegation));
                }
                let name_word = cursor.required(word)?;
                let name = borrowed_name(name_word)?;
                let goto = kind == RuleOption::Goto;
                // The last target counts: an earlier one goes, with its options.
                drop_target(body);
                let options = cursor.options(&mut body.options);
                typed_target(name, name_word, goto, word, options, words, body)?;
            }
            Some(RuleOption::Counters) => {
                // `-c PACKETS BYTES` inside a rule (iptables-restore input form): counters only.
                cursor.required(word)?;
                cursor.required(word)?;
            }
            Some(RuleOption::Family) => {}
            // A bare `--` names no option: it is an unknown option below. Letting it
            // in here would read no option and loop forever on the same word.
            None if option.starts_with("--") && option.len() > 2 => {
                // `-p tcp --dport 80` without `-m tcp`: iptables loads the protocol's
                // match implicitly, and `iptables -S`-style input relies on it.
                let implicit = match protocol {
                    Some(Protocol::Tcp) => "tcp",
                    Some(Protocol::Udp) => "udp",
                    Some(Protocol::Sctp) => "sctp",
                    _ => {
                        return Err(RuleError::at(
                            word,
                            ParseErrorKind::OptionOutsideModule(option.to_string()),
                        ));
                    }
                };
                cursor.pos -= if negated { 2 } else { 1 };
                let options = cursor.options(&mut body.options);
                typed_module(implicit, word, options, words, body)?;
            }
            None => {
                return Err(RuleError::at(
                    word,
                    ParseErrorKind::UnknownOption(option.to_string()),
                ));
            }
        }
    }
    Ok(())
}

/// The options a rule has outside its modules and target options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleOption {
    Source,
    Destination,
    Protocol,
    InInterface,
    OutInterface,
    Fragment,
    Match,
    Jump,
    Goto,
    Counters,
    /// `-4`/`-6`, which iptables-restore accepts and ignores.
    Family,
}

impl RuleOption {
    /// The option `written` names, in its short or long spelling. Short spellings, nearly
    /// every option of a saved dump, are told apart by their letter alone.
    fn named(written: &str) -> Option<RuleOption> {
        use RuleOption::*;
        if let [b'-', letter] = written.as_bytes() {
            return Some(match letter {
                b's' => Source,
                b'd' => Destination,
                b'p' => Protocol,
                b'i' => InInterface,
                b'o' => OutInterface,
                b'f' => Fragment,
                b'm' => Match,
                b'j' => Jump,
                b'g' => Goto,
                b'c' => Counters,
                b'4' | b'6' => Family,
                _ => return None,
            });
        }
        Some(match written {
            "--source" | "--src" => Source,
            "--destination" | "--dst" => Destination,
            "--protocol" => Protocol,
            "--in-interface" => InInterface,
            "--out-interface" => OutInterface,
            "--fragment" => Fragment,
            "--match" => Match,
            "--jump" => Jump,
            "--goto" => Goto,
            "--set-counters" => Counters,
            "--ipv4" | "--ipv6" => Family,
            _ => return None,
        })
    }
}

/// Removes the body's target and its options, so that a later `-j` leaves the same body
/// as if it were the only one (the options of modules after it move down).
fn drop_target(body: &mut RuleBody<'_>) {
    let Some(target) = body.target.take() else {
        return;
    };
    let OptionRange { start, end } = target.options;
    let removed = end - start;
    if removed == 0 {
        return;
    }
    body.options.drain(start as usize..end as usize);
    for m in &mut body.matches {
        if let Match::Module(module) = m
            && module.options.start >= end
        {
            module.options.start -= removed;
            module.options.end -= removed;
        }
    }
}

/// True for a bare `!`.
fn is_bang(word: &Word<'_>) -> bool {
    word.bare() == Some("!")
}

/// Module, target and chain names are never quoted by iptables-save.
fn borrowed_name<'a>(word: &Word<'a>) -> Result<&'a str, RuleError> {
    match word.borrowed() {
        Some(name) if !name.is_empty() => Ok(name),
        _ => Err(RuleError::at(
            word,
            ParseErrorKind::BadValue {
                what: "a name (module, target or chain names are never quoted)",
                value: word.text().into_owned(),
            },
        )),
    }
}

/// Walks the words of one rule.
struct Cursor<'w, 'a> {
    words: &'w [Word<'a>],
    pos: usize,
}

impl<'w, 'a> Cursor<'w, 'a> {
    fn next(&mut self) -> Option<&'w Word<'a>> {
        let word = self.words.get(self.pos)?;
        self.pos += 1;
        Some(word)
    }

    fn peek(&self, ahead: usize) -> Option<&'w Word<'a>> {
        self.words.get(self.pos + ahead)
    }

    /// The word after `option`, which must exist.
    fn required(&mut self, option: &Word<'_>) -> Result<&'w Word<'a>, RuleError> {
        self.next().ok_or_else(|| RuleError {
            kind: ParseErrorKind::MissingValue(option.text().into_owned()),
            start: option.start(),
            end: option.end(),
        })
    }

    /// The value after a basic option, accepting the old `-s ! ADDR` negation.
    fn value_after(
        &mut self,
        option: &Word<'_>,
        negated: bool,
    ) -> Result<(&'w Word<'a>, bool), RuleError> {
        let value = self.required(option)?;
        if is_bang(value) {
            return Ok((self.required(option)?, true));
        }
        Ok((value, negated))
    }

    /// `[!] --name [!] value*` options, until the next short option or the end, appended
    /// to `options`: where they are there.
    fn options(&mut self, options: &mut Vec<ModuleOption<'a>>) -> OptionRange {
        let first = options.len();
        loop {
            let (negated, name_at) = match self.peek(0) {
                Some(w) if is_bang(w) => (true, 1),
                Some(_) => (false, 0),
                None => break,
            };
            let Some(name_word) = self.peek(name_at) else {
                break;
            };
            let Some(name) = long_option_name(name_word) else {
                break;
            };
            let start = self.words[self.pos].start();
            self.pos += name_at + 1;
            let mut negated = negated;
            if self.peek(0).is_some_and(is_bang) && self.peek(1).is_some_and(|w| !is_option(w)) {
                // Old form: `--dport ! 80`.
                negated = true;
                self.pos += 1;
            }
            let first_value = self.pos;
            let mut end = name_word.end();
            let arity = fixed_arity(name);
            while let Some(value) = self.peek(0) {
                let take = match arity {
                    Some(n) => self.pos - first_value < n,
                    None => value
                        .bare()
                        .is_none_or(|v| !(v.starts_with('-') || v == "!")),
                };
                if !take {
                    break;
                }
                end = value.end();
                self.pos += 1;
            }
            let values = WordRange {
                start: first_value as u32,
                end: self.pos as u32,
            };
            options.push(ModuleOption {
                negated,
                name,
                values,
                span: Span::new(start, end),
                understood: false,
            });
        }
        OptionRange {
            start: first as u32,
            end: options.len() as u32,
        }
    }
}

/// `--name` → `name`, for an unquoted long option.
fn long_option_name<'a>(word: &Word<'a>) -> Option<&'a str> {
    word.bare()?.strip_prefix("--").filter(|n| !n.is_empty())
}

/// True for a word that starts an option (short or long).
fn is_option(word: &Word<'_>) -> bool {
    word.bare()
        .is_some_and(|w| w.starts_with('-') && w.len() > 1)
}

/// Options known to take exactly this many values, even if a value starts with `-`
/// (iptables-save leaves `-abc` unquoted, so `--comment -abc` is legal).
pub(crate) fn fixed_arity(name: &str) -> Option<usize> {
    Some(match name {
        "comment" | "log-prefix" | "nfacct-name" | "name" | "set-xmark" | "set-mark"
        | "or-mark" | "and-mark" | "xor-mark" | "mark" | "to-destination" | "to-source"
        | "to-ports" | "reject-with" | "ctstate" | "state" | "src-type" | "dst-type" | "dport"
        | "sport" | "dports" | "sports" | "ports" | "destination-port" | "source-port"
        | "destination-ports" | "source-ports" | "probability" | "mode" | "every" | "packet"
        | "seconds" | "mask" | "hitcount" | "log-level" | "set-class" | "physdev-in"
        | "physdev-out" | "ctstatus" | "ctproto" | "ctorigsrc" | "ctorigdst" | "ctreplsrc"
        | "ctrepldst" | "ctorigsrcport" | "ctorigdstport" | "ctexpire" | "ctdir" => 1,
        "match-set" | "tcp-flags" => 2,
        _ => return None,
    })
}

/// Reads the typed form of a `-m NAME` group whose options are `range` of the body's,
/// marking the options it understood, and appends it to the body's matches (built where
/// it is stored: returned, the module was copied twice more).
fn typed_module<'a>(
    name: &'a str,
    m_word: &Word<'_>,
    range: OptionRange,
    words: &[Word<'a>],
    body: &mut RuleBody<'a>,
) -> Result<(), RuleError> {
    let options = &mut body.options[range.start as usize..range.end as usize];
    let start = m_word.start();
    let end = options.last().map_or(m_word.end(), |o| o.span.end as usize);
    let kind = match name {
        "tcp" | "udp" | "sctp" | "udplite" => {
            let mut sport = None;
            let mut dport = None;
            for option in options.iter_mut() {
                let slot = match option.name {
                    "sport" | "source-port" => &mut sport,
                    "dport" | "destination-port" => &mut dport,
                    _ => continue,
                };
                let value = option.value(words);
                let range = parse_port_range(&value).ok_or_else(|| {
                    option_error(option, ParseErrorKind::BadPort(value.to_string()))
                })?;
                *slot = Some(Negatable {
                    value: range,
                    negated: option.negated,
                });
                option.understood = true;
            }
            ModuleKind::Ports { sport, dport }
        }
        "multiport" => {
            let mut found = None;
            for option in options.iter_mut() {
                let direction = match option.name {
                    "dports" | "destination-ports" => PortDirection::Destination,
                    "sports" | "source-ports" => PortDirection::Source,
                    "ports" => PortDirection::Either,
                    _ => continue,
                };
                let mut ports = Vec::new();
                for part in option.value(words).split(',') {
                    ports.push(parse_port_range(part).ok_or_else(|| {
                        option_error(option, ParseErrorKind::BadPort(part.to_string()))
                    })?);
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
            let (direction, ports) = found.ok_or_else(|| {
                module_error(start, end, "multiport needs --dports, --sports or --ports")
            })?;
            ModuleKind::Multiport { direction, ports }
        }
        "addrtype" => {
            let mut src_type = None;
            let mut dst_type = None;
            for option in options.iter_mut() {
                let slot = match option.name {
                    "src-type" => &mut src_type,
                    "dst-type" => &mut dst_type,
                    _ => continue,
                };
                let types: Vec<&'a str> = match first_borrowed(option, words) {
                    Some(list) => list.split(',').collect(),
                    _ => {
                        return Err(option_error(
                            option,
                            ParseErrorKind::MissingValue(format!("--{}", option.name)),
                        ));
                    }
                };
                *slot = Some(Negatable {
                    value: types,
                    negated: option.negated,
                });
                option.understood = true;
            }
            ModuleKind::AddrType { src_type, dst_type }
        }
        "mark" => {
            let option = required_option(
                options,
                "mark",
                start,
                end,
                "-m mark needs --mark VALUE[/MASK]",
            )?;
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
            ModuleKind::Mark(Negatable {
                value: MarkValue {
                    value,
                    mask: mask.unwrap_or(u32::MAX),
                },
                negated: option.negated,
            })
        }
        "comment" => {
            let option = required_option(
                options,
                "comment",
                start,
                end,
                "-m comment needs --comment TEXT",
            )?;
            option.understood = true;
            ModuleKind::Comment(option.value(words))
        }
        "statistic" => typed_statistic(options, words, start, end)?,
        "conntrack" | "state" => {
            let mut states = None;
            for option in options.iter_mut() {
                if option.name == "ctstate" || option.name == "state" {
                    let list: Vec<&'a str> = match first_borrowed(option, words) {
                        Some(list) => list.split(',').collect(),
                        _ => {
                            return Err(option_error(
                                option,
                                ParseErrorKind::MissingValue(format!("--{}", option.name)),
                            ));
                        }
                    };
                    states = Some(Negatable {
                        value: list,
                        negated: option.negated,
                    });
                    option.understood = true;
                }
            }
            ModuleKind::Conntrack { states }
        }
        "set" => {
            let option = required_option(
                options,
                "match-set",
                start,
                end,
                "-m set needs --match-set NAME FLAGS",
            )?;
            option.understood = true;
            ModuleKind::Set {
                name: option.value(words),
                flags: option
                    .values
                    .of(words)
                    .get(1)
                    .map_or(Cow::Borrowed(""), Word::text),
                negated: option.negated,
            }
        }
        "recent" => {
            let mut name = Cow::Borrowed("DEFAULT");
            let mut action = "";
            for option in options.iter_mut() {
                match option.name {
                    "name" => name = option.value(words),
                    "rcheck" | "set" | "update" | "remove" => action = option.name,
                    _ => {}
                }
                option.understood = true;
            }
            ModuleKind::Recent { name, action }
        }
        "nfacct" => {
            let option = required_option(
                options,
                "nfacct-name",
                start,
                end,
                "-m nfacct needs --nfacct-name NAME",
            )?;
            option.understood = true;
            ModuleKind::Nfacct {
                name: option.value(words),
            }
        }
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

/// `-m statistic --mode random --probability P` / `--mode nth --every N [--packet P]`.
fn typed_statistic<'a>(
    options: &mut [ModuleOption<'a>],
    words: &[Word<'a>],
    start: usize,
    end: usize,
) -> Result<ModuleKind<'static>, RuleError> {
    let mode = options
        .iter()
        .find(|o| o.name == "mode")
        .map(|o| o.value(words))
        .ok_or_else(|| module_error(start, end, "-m statistic needs --mode random|nth"))?;
    let mut negated = false;
    let statistic = match mode.as_ref() {
        "random" => {
            let option = options
                .iter()
                .find(|o| o.name == "probability")
                .ok_or_else(|| module_error(start, end, "--mode random needs --probability P"))?;
            negated = option.negated;
            let text = option.value(words);
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
            Statistic::Random { probability }
        }
        "nth" => {
            let mut number = |name: &str| -> Result<u32, RuleError> {
                match options.iter().find(|o| o.name == name) {
                    None => Ok(0),
                    Some(option) => {
                        negated |= option.negated;
                        let text = option.value(words);
                        text.parse().map_err(|_| {
                            option_error(
                                option,
                                ParseErrorKind::BadValue {
                                    what: "a count",
                                    value: text.to_string(),
                                },
                            )
                        })
                    }
                }
            };
            let every = number("every")?;
            let packet = number("packet")?;
            if every == 0 {
                return Err(module_error(start, end, "--mode nth needs --every N"));
            }
            Statistic::Nth { every, packet }
        }
        _ => {
            let option = options.iter().find(|o| o.name == "mode");
            return Err(match option {
                Some(option) => option_error(
                    option,
                    ParseErrorKind::BadValue {
                        what: "--mode (expected random or nth)",
                        value: mode.to_string(),
                    },
                ),
                None => module_error(start, end, "-m statistic needs --mode random|nth"),
            });
        }
    };
    for option in options.iter_mut() {
        option.understood = matches!(option.name, "mode" | "probability" | "every" | "packet");
    }
    Ok(ModuleKind::Statistic(Negatable {
        value: statistic,
        negated,
    }))
}

/// Reads the typed form of a target whose options are `range` of the body's, marking the
/// options it understood, and sets it as the body's target.
fn typed_target<'a>(
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
    let kind = if goto {
        chain_jump(name, options)?
    } else {
        // The targets typed here are all built in, so only the others need the list.
        match name {
            "ACCEPT" => TargetKind::Accept,
            "DROP" => TargetKind::Drop,
            "RETURN" => TargetKind::Return,
            "REJECT" => {
                let mut with = None;
                for option in options.iter_mut() {
                    if option.name == "reject-with" {
                        with = option.values.of(words).first().map(Word::text);
                        option.understood = true;
                    }
                }
                TargetKind::Reject { with }
            }
            "DNAT" | "SNAT" => {
                let wanted = if name == "DNAT" {
                    "to-destination"
                } else {
                    "to-source"
                };
                let mut to = SmallVec::new();
                for option in options.iter_mut() {
                    if option.name == wanted {
                        let text = option.value(words);
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
                if name == "DNAT" {
                    TargetKind::Dnat { to }
                } else {
                    TargetKind::Snat { to }
                }
            }
            "MASQUERADE" | "REDIRECT" => {
                let mut to_ports = None;
                let mut random_fully = false;
                for option in options.iter_mut() {
                    match option.name {
                        "to-ports" => {
                            let text = option.value(words);
                            to_ports = Some(port_range(&text, b'-').ok_or_else(|| {
                                option_error(option, ParseErrorKind::BadPort(text.to_string()))
                            })?);
                        }
                        "random-fully" => random_fully = true,
                        _ => {}
                    }
                    option.understood =
                        matches!(option.name, "to-ports" | "random" | "random-fully");
                }
                if name == "MASQUERADE" {
                    TargetKind::Masquerade {
                        to_ports,
                        random_fully,
                    }
                } else {
                    TargetKind::Redirect { to_ports }
                }
            }
            "MARK" => TargetKind::Mark(typed_mark_op(options, words, start, end)?),
            "CONNMARK" => {
                for option in options.iter_mut() {
                    // Only --restore-mark touches the packet mark, which the analysis tracks.
                    option.understood = option.name != "restore-mark";
                }
                TargetKind::Connmark
            }
            "LOG" | "NFLOG" => {
                for option in options.iter_mut() {
                    option.understood = true;
                }
                TargetKind::Log
            }
            _ if is_builtin_target(name) => TargetKind::Other,
            _ => chain_jump(name, options)?,
        }
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

/// A jump or goto to the user chain `name`, which takes no options.
fn chain_jump<'a>(
    name: &'a str,
    options: &[ModuleOption<'_>],
) -> Result<TargetKind<'a>, RuleError> {
    match options.first() {
        Some(option) => Err(option_error(
            option,
            ParseErrorKind::OptionsOnChainJump(name.to_string()),
        )),
        None => Ok(TargetKind::Chain(name)),
    }
}

/// `MARK --set-xmark V/M | --set-mark V[/M] | --or-mark V | --and-mark V | --xor-mark V`.
fn typed_mark_op<'a>(
    options: &mut [ModuleOption<'a>],
    words: &[Word<'a>],
    start: usize,
    end: usize,
) -> Result<MarkOp, RuleError> {
    for option in options.iter_mut() {
        let Some((value, mask)) = parse_value_mask(&option.value(words)) else {
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
    Err(module_error(
        start,
        end,
        "MARK needs --set-xmark, --set-mark, --or-mark, --and-mark or --xor-mark with a number",
    ))
}

/// The option a module cannot do without (`--mark` of `-m mark`, ...), or an error over
/// the whole module saying what it needs.
fn required_option<'o, 'a>(
    options: &'o mut [ModuleOption<'a>],
    name: &str,
    start: usize,
    end: usize,
    what: &'static str,
) -> Result<&'o mut ModuleOption<'a>, RuleError> {
    options
        .iter_mut()
        .find(|o| o.name == name)
        .ok_or_else(|| module_error(start, end, what))
}

/// The first value of `option` when it is a slice of the source (not escaped).
fn first_borrowed<'a>(option: &ModuleOption<'a>, words: &[Word<'a>]) -> Option<&'a str> {
    option.values.of(words).first().and_then(Word::borrowed)
}

fn option_error(option: &ModuleOption<'_>, kind: ParseErrorKind) -> RuleError {
    RuleError {
        kind,
        start: option.span.start as usize,
        end: option.span.end as usize,
    }
}

/// An error over a whole module or target.
fn module_error(start: usize, end: usize, what: &'static str) -> RuleError {
    RuleError {
        kind: ParseErrorKind::Incomplete(what),
        start,
        end,
    }
}

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
fn port_range(text: &str, also: u8) -> Option<PortRange> {
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
fn parse_value_mask(text: &str) -> Option<(u32, Option<u32>)> {
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
