//! Code generation: the user's function, untouched, plus a registry entry.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, LitStr, ReturnType, Type};

use crate::args::Args;
use crate::errors::Errors;

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    On,
    OnError,
    OnErrorDefault,
}

/// Event names the protocol reserves; they can never arrive from a client.
const RESERVED: [&str; 4] = [
    "connect_error",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// What the handler is registered for, decided from the attribute.
enum Role {
    Event(String),
    CatchAll,
    Connect,
    Disconnect,
    Error,
    ErrorDefault,
}

impl Role {
    /// The runtime's extraction helper and the context type.
    fn extractor(&self) -> (&'static str, &'static str) {
        match self {
            Role::Event(_) | Role::CatchAll => ("message_part", "MessageContext"),
            Role::Connect => ("connect_part", "ConnectContext"),
            Role::Disconnect => ("disconnect_part", "DisconnectContext"),
            Role::Error | Role::ErrorDefault => ("error_part", "ErrorContext"),
        }
    }
}

pub(crate) fn handler(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(e) => {
            let error = e.to_compile_error();
            return quote!(#item #error);
        }
    };
    let mut errors = Errors::default();
    let args = Args::parse(attr, &mut errors);
    let role = role(kind, &args, &mut errors);
    check_signature(&function, &mut errors);
    if let Some(Role::Error | Role::ErrorDefault) = &role {
        check_error_argument(&function, &mut errors);
    }
    let namespace = namespace(kind, &args, &mut errors);
    if let Some(errors) = errors.into_compile_errors() {
        return quote!(#function #errors);
    }
    let (Some(role), Some(namespace)) = (role, namespace) else {
        return function.into_token_stream();
    };
    let krate = args
        .krate
        .map(|path| path.into_token_stream())
        .unwrap_or_else(|| quote!(::socketio));
    let registration = registration(&function, &role, &namespace, &krate);
    quote! {
        #function
        #registration
    }
}

fn role(kind: Kind, args: &Args, errors: &mut Errors) -> Option<Role> {
    match kind {
        Kind::On => {
            let Some(event) = &args.event else {
                errors.add(syn::Error::new(
                    Span::call_site(),
                    "missing event name: write #[on(\"event\")] (or \"connect\", \"disconnect\", \"*\")",
                ));
                return None;
            };
            let name = event.value();
            Some(match name.as_str() {
                "connect" => Role::Connect,
                "disconnect" => Role::Disconnect,
                "*" => Role::CatchAll,
                reserved if RESERVED.contains(&reserved) => {
                    errors.push(
                        event,
                        format!("{reserved:?} is reserved by Socket.IO: no client can send it"),
                    );
                    return None;
                }
                "" => {
                    errors.push(event, "the event name is empty");
                    return None;
                }
                _ => Role::Event(name),
            })
        }
        Kind::OnError | Kind::OnErrorDefault => {
            if let Some(event) = &args.event {
                errors.push(event, "error handlers take no event name");
                return None;
            }
            if kind == Kind::OnErrorDefault {
                if let Some(namespace) = &args.namespace {
                    errors.push(
                        namespace,
                        "#[on_error_default] serves every namespace: use #[on_error(namespace = ..)] for one",
                    );
                    return None;
                }
                return Some(Role::ErrorDefault);
            }
            Some(Role::Error)
        }
    }
}

fn namespace(kind: Kind, args: &Args, errors: &mut Errors) -> Option<String> {
    let Some(lit) = &args.namespace else {
        return Some(
            if kind == Kind::OnErrorDefault {
                "*"
            } else {
                "/"
            }
            .to_owned(),
        );
    };
    let value = lit.value();
    if !value.starts_with('/') {
        errors.push(
            lit,
            format!("a namespace starts with '/': write \"/{value}\""),
        );
        return None;
    }
    if value.contains(',') {
        errors.push(lit, "a namespace cannot contain ','");
        return None;
    }
    Some(value)
}

fn check_signature(function: &ItemFn, errors: &mut Errors) {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        errors.push(sig.fn_token, "a handler must be an `async fn`");
    }
    if !sig.generics.params.is_empty() {
        errors.push(
            &sig.generics,
            "a handler cannot be generic: the registry stores one concrete function",
        );
    }
    if let Some(clause) = &sig.generics.where_clause {
        errors.push(clause, "a handler cannot have a where clause");
    }
    for input in &sig.inputs {
        if let FnArg::Receiver(receiver) = input {
            errors.push(
                receiver,
                "a handler cannot take `self`: make it a free `async fn`",
            );
        }
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(variadic, "a handler cannot be variadic");
    }
}

fn check_error_argument(function: &ItemFn, errors: &mut Errors) {
    let takes_error = function.sig.inputs.iter().any(|input| match input {
        FnArg::Typed(arg) => is_error_type(&arg.ty),
        FnArg::Receiver(_) => false,
    });
    if !takes_error {
        errors.push(
            &function.sig.ident,
            "an error handler must take the failure: add an argument `error: socketio::Error`",
        );
    }
}

fn is_error_type(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Error" && segment.arguments.is_empty()),
        Type::Paren(inner) => is_error_type(&inner.elem),
        _ => false,
    }
}

fn registration(
    function: &ItemFn,
    role: &Role,
    namespace: &str,
    krate: &TokenStream,
) -> TokenStream {
    let ident = &function.sig.ident;
    let (part, context) = role.extractor();
    let part = syn::Ident::new(part, Span::call_site());
    let context = syn::Ident::new(context, Span::call_site());
    let ctx = syn::Ident::new("__socketio_ctx", Span::mixed_site());

    let mut bindings = Vec::new();
    let mut names = Vec::new();
    for (index, input) in function.sig.inputs.iter().enumerate() {
        let FnArg::Typed(arg) = input else { continue };
        let ty = &arg.ty;
        let name = syn::Ident::new(&format!("__socketio_arg{index}"), Span::mixed_site());
        let rejected = rejection(role, krate, &ctx);
        let assert = syn::Ident::new(&format!("assert_{part}"), Span::call_site());
        let extract = quote! {
            (&#krate::__private::Part::<#ty>::new()).#part(&#ctx).await
        };
        bindings.push(quote_spanned! {ty.span()=>
            #krate::__private::#assert::<#ty>();
        });
        bindings.push(quote! {
            let #name = match #extract {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(error) => #rejected,
            };
        });
        names.push(name);
    }

    let output = match &function.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let output_span = match &function.sig.output {
        ReturnType::Default => ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    let reply = syn::Ident::new("__socketio_reply", Span::mixed_site());
    let finish = match role {
        Role::Event(_) | Role::CatchAll => quote_spanned! {output_span=>
            #krate::__private::reply::<#output>(&#ctx, #reply)
        },
        Role::Connect => quote_spanned! {output_span=>
            #krate::__private::connect_result::<#output>(#reply)
        },
        Role::Disconnect => quote_spanned! {output_span=>
            #krate::__private::disconnect_done::<#output>(#reply)
        },
        Role::Error | Role::ErrorDefault => quote_spanned! {output_span=>
            #krate::__private::reply_error::<#output>(&#ctx, #reply)
        },
    };
    let output_ty = match role {
        Role::Connect => quote!(::core::result::Result<(), #krate::ConnectError>),
        _ => quote!(()),
    };
    let call = match role {
        Role::Event(_) => quote!(Event),
        Role::CatchAll => quote!(CatchAll),
        Role::Connect => quote!(Connect),
        Role::Disconnect => quote!(Disconnect),
        Role::Error => quote!(Error),
        Role::ErrorDefault => quote!(ErrorDefault),
    };
    let event = match role {
        Role::Event(name) => name.clone(),
        Role::CatchAll => "*".to_owned(),
        Role::Connect => "connect".to_owned(),
        Role::Disconnect => "disconnect".to_owned(),
        Role::Error | Role::ErrorDefault => String::new(),
    };
    let event = LitStr::new(&event, Span::call_site());
    let namespace = LitStr::new(namespace, Span::call_site());
    let handler = syn::Ident::new("__socketio_handler", Span::mixed_site());
    // Spanned at the function's name, so a `!Send` handler is reported there.
    let body = quote_spanned! {ident.span()=>
        async move {
            #(#bindings)*
            let #reply = #ident(#(#names),*).await;
            #finish
        }
    };
    // The whole call carries the name's span (the crate path too), so rustc does not fall back
    // to the attribute when it reports the `Send` bound.
    let krate_at_name = respan(krate, ident.span());
    let boxed = quote_spanned!(ident.span()=> #krate_at_name::__private::boxed(#body));
    let (part_trait, fallback_trait) = match role {
        Role::Event(_) | Role::CatchAll => (quote!(MessagePart), quote!(MessagePartFallback)),
        Role::Connect => (quote!(ConnectPart), quote!(ConnectPartFallback)),
        Role::Disconnect => (quote!(DisconnectPart), quote!(DisconnectPartFallback)),
        Role::Error | Role::ErrorDefault => (quote!(ErrorPart), quote!(ErrorPartFallback)),
    };
    quote! {
        #[doc(hidden)]
        const _: () = {
            #[allow(unused_imports)]
            use #krate::__private::{#part_trait as _, #fallback_trait as _};
            fn #handler(#ctx: #krate::handler::#context) -> #krate::__private::BoxFuture<#output_ty> {
                #boxed
            }
            #krate::__private::inventory::submit! {
                #krate::__private::Registration {
                    namespace: #namespace,
                    event: #event,
                    handler: ::core::stringify!(#ident),
                    file: ::core::file!(),
                    line: ::core::line!(),
                    call: #krate::__private::Call::#call(#handler),
                }
            }
        };
    }
}

/// `tokens` with every span replaced by `span`.
fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut tree| {
            tree.set_span(span);
            tree
        })
        .collect()
}

/// What the generated code does when an extractor refuses.
fn rejection(role: &Role, krate: &TokenStream, ctx: &syn::Ident) -> TokenStream {
    match role {
        Role::Event(_) | Role::CatchAll => {
            quote!(return #krate::__private::message_rejected(&#ctx, error))
        }
        Role::Connect => quote!(return #krate::__private::connect_rejected(error)),
        Role::Disconnect => quote!(return #krate::__private::disconnect_rejected(&#ctx, error)),
        Role::Error | Role::ErrorDefault => {
            quote!(return #krate::__private::error_rejected(&#ctx, error))
        }
    }
}
