//! Code generation: the user's function, untouched, then compile-time checks that carry the
//! user's spans and a registry entry. Extraction, rejection and replies are the runtime's: the
//! entry erases the function with the same runtime function the builder's `.on(..)` uses.

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

/// What the handler is registered for, decided once from the attribute; everything the
/// expansion needs per role is a method below.
pub(crate) enum Role {
    Event(LitStr),
    CatchAll,
    Connect,
    Disconnect,
    Error,
    ErrorDefault,
}

impl Role {
    /// The role of an `#[on("..")]` handler, from its event name.
    pub(crate) fn of_event(event: &LitStr) -> Role {
        match event.value().as_str() {
            "connect" => Role::Connect,
            "disconnect" => Role::Disconnect,
            "*" => Role::CatchAll,
            _ => Role::Event(event.clone()),
        }
    }

    /// The runtime's assertion that an argument type is an extractor of this role.
    pub(crate) fn part_assertion(&self) -> &'static str {
        match self {
            Role::Event(_) | Role::CatchAll => "assert_message_part",
            Role::Connect => "assert_connect_part",
            Role::Disconnect => "assert_disconnect_part",
            Role::Error | Role::ErrorDefault => "assert_error_part",
        }
    }

    /// The runtime's assertion that the return type fits this role.
    pub(crate) fn output_assertion(&self) -> &'static str {
        match self {
            Role::Event(_) | Role::CatchAll | Role::Error | Role::ErrorDefault => "assert_ack",
            Role::Connect => "assert_connect_result",
            Role::Disconnect => "assert_disconnect_output",
        }
    }

    /// The runtime's erasure for this role: (its trait, the quiet fallback, the method).
    pub(crate) fn erasure(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            Role::Event(_) | Role::CatchAll => ("MessageRole", "MessageRoleFallback", "message"),
            Role::Connect => ("ConnectRole", "ConnectRoleFallback", "connect"),
            Role::Disconnect => ("DisconnectRole", "DisconnectRoleFallback", "disconnect"),
            Role::Error | Role::ErrorDefault => ("ErrorRole", "ErrorRoleFallback", "error"),
        }
    }

    /// The registry's `Role` value.
    pub(crate) fn registration(&self, krate: &TokenStream) -> TokenStream {
        let variant = |name: &str| {
            let name = syn::Ident::new(name, Span::call_site());
            quote!(#krate::__private::Role::#name)
        };
        match self {
            Role::Event(lit) => {
                let role = variant("Event");
                quote!(#role(#lit))
            }
            Role::CatchAll => variant("CatchAll"),
            Role::Connect => variant("Connect"),
            Role::Disconnect => variant("Disconnect"),
            Role::Error => variant("Error"),
            Role::ErrorDefault => variant("ErrorDefault"),
        }
    }

    fn is_error_handler(&self) -> bool {
        matches!(self, Role::Error | Role::ErrorDefault)
    }

    /// How a guard of this role registers: the runtime's erasure and the registry's role; `None`
    /// for roles that take no guard.
    fn guard(&self, krate: &TokenStream) -> Option<(&'static str, TokenStream)> {
        let role = |tokens: TokenStream| quote!(#krate::__private::Role::#tokens);
        match self {
            Role::Event(lit) => Some(("message_guard", role(quote!(Guard(#lit))))),
            Role::CatchAll => Some(("message_guard", role(quote!(Guard("*"))))),
            Role::Connect => Some(("connect_guard", role(quote!(ConnectMiddleware)))),
            Role::Disconnect | Role::Error | Role::ErrorDefault => None,
        }
    }
}

pub(crate) fn handler(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut function: ItemFn = match syn::parse2(item.clone()) {
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
    if role.as_ref().is_some_and(Role::is_error_handler) {
        check_error_argument(&function, &mut errors);
    }
    if let (Some(role), Some(guard)) = (&role, &args.guard) {
        if role.guard(&quote!()).is_none() {
            errors.push(guard, "guards apply to event and connect handlers");
        }
    }
    if let Some(errors) = errors.into_compile_errors() {
        return quote!(#function #errors);
    }
    // A handler's reply outlives the call: `-> (&str, i32)` means `&'static str`, as a
    // Python handler returning a literal would.
    if let ReturnType::Type(_, ty) = &mut function.sig.output {
        static_references(ty);
    }
    let Some(role) = role else {
        return function.into_token_stream();
    };
    let krate = args
        .krate
        .map(|path| path.into_token_stream())
        .unwrap_or_else(|| quote!(::socketio));
    let registration = registration(
        &function,
        &role,
        args.namespace.as_ref(),
        args.guard.as_ref(),
        &krate,
    );
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
            Some(Role::of_event(event))
        }
        Kind::OnError | Kind::OnErrorDefault => {
            if let Some(event) = &args.event {
                errors.push(event, "error handlers take no event name");
                return None;
            }
            if kind == Kind::OnError {
                return Some(Role::Error);
            }
            if let Some(namespace) = &args.namespace {
                errors.push(
                    namespace,
                    "#[on_error_default] serves every namespace: use #[on_error(namespace = ..)] for one",
                );
                return None;
            }
            Some(Role::ErrorDefault)
        }
    }
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

/// The checks and the registry entry.
fn registration(
    function: &ItemFn,
    role: &Role,
    namespace: Option<&LitStr>,
    guard: Option<&syn::Path>,
    krate: &TokenStream,
) -> TokenStream {
    let ident = &function.sig.ident;
    let types = argument_types(&function.sig);
    let (signature_checks, send_check) = checks(&function.sig, role, krate, &quote!(#ident));

    // The names are checked by the runtime's own rules, evaluated at compile time: an error
    // lands on the user's literal.
    let name_check = |lit: &LitStr, rule: &str| {
        let krate = respan(krate, lit.span());
        let rule = syn::Ident::new(rule, lit.span());
        quote_spanned!(lit.span()=> const _: &str = #krate::__private::#rule(#lit);)
    };
    let mut name_checks = Vec::new();
    if let Role::Event(lit) = role {
        name_checks.push(name_check(lit, "event"));
    }
    let namespace = match namespace {
        Some(lit) => {
            name_checks.push(name_check(lit, "namespace"));
            lit.to_token_stream()
        }
        None => quote!("/"),
    };
    let role_value = role.registration(krate);
    let (role_trait, fallback_trait, method) = role.erasure();
    let role_trait = syn::Ident::new(role_trait, Span::call_site());
    let fallback_trait = syn::Ident::new(fallback_trait, Span::call_site());
    let method = syn::Ident::new(method, Span::call_site());
    let checks = syn::Ident::new("__socketio_checks", Span::mixed_site());
    // A guard registers beside its handler; erasing it checks its signature, at its path.
    let guard_registration = guard.and_then(|path| {
        let (erase, guard_role) = role.guard(krate)?;
        let erase = syn::Ident::new(erase, path.span());
        let krate_at_guard = respan(krate, path.span());
        let make = quote_spanned!(path.span()=> #krate_at_guard::__private::#erase(#path));
        Some(quote! {
            #krate::__private::inventory::submit! {
                #krate::__private::Registration {
                    namespace: #namespace,
                    role: #guard_role,
                    handler: ::core::stringify!(#path),
                    file: ::core::file!(),
                    line: ::core::line!(),
                    make: || #make,
                }
            }
        })
    });
    quote! {
        #[doc(hidden)]
        const _: () = {
            #[allow(unused_imports)]
            use #krate::__private::{#role_trait as _, #fallback_trait as _};
            #(#name_checks)*
            #[allow(dead_code)]
            fn #checks() {
                #signature_checks
                #send_check
            }
            #krate::__private::inventory::submit! {
                #krate::__private::Registration {
                    namespace: #namespace,
                    role: #role_value,
                    handler: ::core::stringify!(#ident),
                    file: ::core::file!(),
                    line: ::core::line!(),
                    make: || (&#krate::__private::Function::<_, (#(#types,)*)>::new(#ident)).#method(),
                }
            }
            #guard_registration
        };
    }
}

/// The types of a handler's arguments (`self` aside).
pub(crate) fn argument_types(sig: &syn::Signature) -> Vec<&Type> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(arg) => Some(&*arg.ty),
            FnArg::Receiver(_) => None,
        })
        .collect()
}

/// The compile-time checks of a handler of `role` with signature `sig`, each carrying the span
/// of the token it is about, so that a failure is reported there: every argument is an
/// extractor of the role and the return type fits it (first), and `callee` (the function, or
/// the closure around a method) returns a `Send` future (second, spanned at the name).
pub(crate) fn checks(
    sig: &syn::Signature,
    role: &Role,
    krate: &TokenStream,
    callee: &TokenStream,
) -> (TokenStream, TokenStream) {
    let ident = &sig.ident;
    let types = argument_types(sig);
    let part = syn::Ident::new(role.part_assertion(), Span::call_site());
    let part_checks = types
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> #krate::__private::#part::<#ty>();));
    let (output, output_span) = match &sig.output {
        ReturnType::Default => (quote!(()), ident.span()),
        ReturnType::Type(_, ty) => (ty.to_token_stream(), ty.span()),
    };
    let output_assertion = syn::Ident::new(role.output_assertion(), Span::call_site());
    let output_check =
        quote_spanned!(output_span=> #krate::__private::#output_assertion::<#output>(););
    let signature = quote! {
        #(#part_checks)*
        #output_check
    };
    // The whole call carries the name's span (the crate path too), so rustc does not fall back
    // to the attribute when it reports the `Send` bound.
    let krate_at_name = respan(krate, ident.span());
    let send = quote_spanned! {ident.span()=>
        #krate_at_name::__private::assert_send::<(#(#types,)*), _>(&#callee);
    };
    (signature, send)
}

/// Gives every reference in `ty` that names no lifetime the `'static` one.
pub(crate) fn static_references(ty: &mut Type) {
    match ty {
        Type::Reference(reference) => {
            if reference.lifetime.is_none() {
                reference.lifetime = Some(syn::Lifetime::new("'static", reference.and_token.span));
            }
            static_references(&mut reference.elem);
        }
        Type::Tuple(tuple) => tuple.elems.iter_mut().for_each(static_references),
        Type::Array(array) => static_references(&mut array.elem),
        Type::Slice(slice) => static_references(&mut slice.elem),
        Type::Paren(paren) => static_references(&mut paren.elem),
        Type::Group(group) => static_references(&mut group.elem),
        Type::Path(path) => {
            for segment in &mut path.path.segments {
                if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    for arg in &mut args.args {
                        if let syn::GenericArgument::Type(ty) = arg {
                            static_references(ty);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// `tokens` with every span replaced by `span`.
pub(crate) fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut tree| {
            tree.set_span(span);
            tree
        })
        .collect()
}
