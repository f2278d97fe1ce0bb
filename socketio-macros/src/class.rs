//! `#[namespace("/chat")]` on an `impl` block: Flask-SocketIO's class-based namespaces. Each
//! `async fn on_<event>(&self, ..)` method becomes the handler of `<event>` (`on_connect` and
//! `on_disconnect` of the lifecycle), with the same extractors and compile-time checks as
//! `#[on]`, registered when the value is given to `Builder::on_namespace`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, LitStr, ReturnType, Type};

use crate::errors::Errors;
use crate::expand::{argument_types, checks, respan, static_references, Role};

pub(crate) fn namespace(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut block: ItemImpl = match syn::parse2(item.clone()) {
        Ok(block) => block,
        Err(e) => {
            let error = e.to_compile_error();
            return quote!(#item #error);
        }
    };
    let mut errors = Errors::default();
    let path: Option<LitStr> = match syn::parse2(attr) {
        Ok(path) => Some(path),
        Err(_) => {
            errors.add(syn::Error::new(
                Span::call_site(),
                "write the namespace: #[namespace(\"/chat\")]",
            ));
            None
        }
    };
    if let Some((_, trait_path, _)) = &block.trait_ {
        errors.push(
            trait_path,
            "#[namespace] goes on an inherent impl block, not a trait impl",
        );
    }
    if !block.generics.params.is_empty() {
        errors.push(&block.generics, "a namespace class cannot be generic");
    }
    let mut handlers = Vec::new();
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        let Some(event) = method
            .sig
            .ident
            .to_string()
            .strip_prefix("on_")
            .map(str::to_owned)
        else {
            continue;
        };
        if check_method(method, &mut errors) {
            if let ReturnType::Type(_, ty) = &mut method.sig.output {
                static_references(ty);
            }
            handlers.push((event, method.clone()));
        }
    }
    if let Some(errors) = errors.into_compile_errors() {
        return quote!(#block #errors);
    }
    let Some(path) = path else {
        return block.into_token_stream();
    };
    let krate = quote!(::socketio);
    let self_ty = &block.self_ty;
    let registrations = handlers
        .iter()
        .map(|(event, method)| registration(event, method, &path, self_ty, &krate));
    let path_check = {
        let krate = respan(&krate, path.span());
        quote_spanned!(path.span()=> const _: &str = #krate::__private::namespace(#path);)
    };
    quote! {
        #block

        impl #krate::ClassNamespace for #self_ty {
            fn register(
                self: ::std::sync::Arc<Self>,
                builder: #krate::Builder,
            ) -> #krate::Builder {
                #[allow(unused_imports)]
                use #krate::__private::{
                    ConnectRole as _, ConnectRoleFallback as _, DisconnectRole as _,
                    DisconnectRoleFallback as _, MessageRole as _, MessageRoleFallback as _,
                };
                #path_check
                let mut builder = builder;
                #(#registrations)*
                builder
            }
        }
    }
}

/// Whether `method` can be a handler: an `async fn` taking `&self`, not generic.
fn check_method(method: &ImplItemFn, errors: &mut Errors) -> bool {
    let sig = &method.sig;
    let before = errors.is_empty();
    if sig.asyncness.is_none() {
        errors.push(sig.fn_token, "a namespace handler must be an `async fn`");
    }
    if !sig.generics.params.is_empty() {
        errors.push(&sig.generics, "a namespace handler cannot be generic");
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some() && receiver.mutability.is_none() => {}
        Some(FnArg::Receiver(receiver)) => errors.push(
            receiver,
            "a namespace handler takes `&self`: the namespace is shared",
        ),
        _ => errors.push(&sig.ident, "a namespace handler takes `&self` first"),
    }
    before == errors.is_empty()
}

/// One method registered as the handler of `event` in namespace `path`.
fn registration(
    event: &str,
    method: &ImplItemFn,
    path: &LitStr,
    self_ty: &Type,
    krate: &TokenStream,
) -> TokenStream {
    let ident = &method.sig.ident;
    let role = match event {
        "connect" => Role::Connect,
        "disconnect" => Role::Disconnect,
        _ => Role::Event(LitStr::new(event, ident.span())),
    };
    let types = argument_types(&method.sig);
    let args: Vec<_> = (0..types.len())
        .map(|i| format_ident!("__socketio_arg{i}"))
        .collect();
    let (signature_checks, send_check) = checks(&method.sig, &role, krate, &quote!(handler));
    let (_, _, erase) = role.erasure();
    let erase = syn::Ident::new(erase, Span::call_site());
    let role_value = role.registration(krate);
    let checks = syn::Ident::new("__socketio_checks", Span::mixed_site());
    quote! {
        {
            #[allow(dead_code)]
            fn #checks() {
                #signature_checks
            }
            let this = self.clone();
            let handler = move |#(#args: #types),*| {
                let this = this.clone();
                async move { this.#ident(#(#args),*).await }
            };
            #send_check
            let erased = (&#krate::__private::Function::<_, (#(#types,)*)>::new(handler)).#erase();
            builder = #krate::__private::install(
                builder,
                #path,
                #role_value,
                erased,
                ::core::concat!(
                    ::core::stringify!(#self_ty), "::", ::core::stringify!(#ident),
                    " (", ::core::file!(), ":", ::core::line!(), ")"
                ),
            );
        }
    }
}
