//! The attribute's arguments: `"event", namespace = "/x", crate = path`.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{LitStr, Path, Token};

use crate::errors::Errors;

/// Parsed attribute arguments.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) event: Option<LitStr>,
    pub(crate) namespace: Option<LitStr>,
    pub(crate) guard: Option<Path>,
    pub(crate) krate: Option<Path>,
}

enum Item {
    Event(LitStr),
    Pair(syn::Ident, PairValue),
}

enum PairValue {
    Str(LitStr),
    Path(Path),
}

impl Parse for Item {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(Item::Event(input.parse()?));
        }
        let key = if input.peek(Token![crate]) {
            let token: Token![crate] = input.parse()?;
            syn::Ident::new("crate", token.span)
        } else {
            input.parse()?
        };
        input.parse::<Token![=]>()?;
        let value = if input.peek(LitStr) {
            PairValue::Str(input.parse()?)
        } else {
            PairValue::Path(input.parse()?)
        };
        Ok(Item::Pair(key, value))
    }
}

impl Args {
    /// Parses `tokens`, recording every problem in `errors`.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Args {
        let items =
            match syn::punctuated::Punctuated::<Item, Token![,]>::parse_terminated.parse2(tokens) {
                Ok(items) => items,
                Err(e) => {
                    errors.add(e);
                    return Args::default();
                }
            };
        let mut args = Args::default();
        for item in items {
            match item {
                Item::Event(lit) => {
                    if args.event.is_some() {
                        errors.push(&lit, "only one event name is allowed");
                    } else {
                        args.event = Some(lit);
                    }
                }
                Item::Pair(key, value) => match (key.to_string().as_str(), value) {
                    ("namespace", PairValue::Str(lit)) => {
                        if args.namespace.is_some() {
                            errors.push(&key, "duplicate key `namespace`");
                        } else {
                            args.namespace = Some(lit);
                        }
                    }
                    ("namespace", PairValue::Path(path)) => {
                        errors.push(
                            path,
                            "`namespace` takes a string literal: namespace = \"/chat\"",
                        );
                    }
                    ("guard", PairValue::Path(path)) => {
                        if args.guard.is_some() {
                            errors.push(
                                &key,
                                "one guard per handler: combine the checks in one async fn",
                            );
                        } else {
                            args.guard = Some(path);
                        }
                    }
                    ("guard", PairValue::Str(lit)) => {
                        errors.push(lit, "`guard` takes a function: guard = authenticated_only");
                    }
                    ("crate", PairValue::Path(path)) => {
                        if args.krate.is_some() {
                            errors.push(&key, "duplicate key `crate`");
                        } else {
                            args.krate = Some(path);
                        }
                    }
                    ("crate", PairValue::Str(lit)) => {
                        errors.push(lit, "`crate` takes a path: crate = my_socketio");
                    }
                    (other, _) => errors.push(
                        &key,
                        format!("unknown key `{other}`: expected `namespace`, `guard` or `crate`"),
                    ),
                },
            }
        }
        args
    }
}
