//! `capnweb describe URL`: the main object's interface from its `$meta` member.

use capnweb_runtime::{RpcError, Value};

use crate::args::ConnectArgs;
use crate::connect::connect;
use crate::failure::Failure;

/// Reads the description of the main object at `url` (`$meta()`).
pub async fn fetch(url: &str, connect_args: &ConnectArgs) -> Result<Value, Failure> {
    let connection = connect(url, connect_args).await?;
    let result = connection
        .main()
        .call("$meta", ())
        .timeout(connect_args.timeout)
        .await;
    connection.close().await;
    match result {
        Ok(description @ Value::Object(_)) => Ok(description),
        Ok(other) => Err(Failure::Other(format!(
            "{url} answered `$meta()` with {}, not an interface description",
            crate::inspect::inspect(&other, false)
        ))),
        Err(RpcError::Remote(error)) => Err(Failure::Other(format!(
            "{url} offers no introspection: calling `$meta()` on its main object failed with \
             {}: {} (a Rust server offers it with #[rpc_interface(introspect)])",
            error.name, error.message
        ))),
        Err(other) => Err(Failure::from(other)),
    }
}

/// The description as readable text:
///
/// ```text
/// interface Catalogue
///   The shop's catalogue.
///
///   price(item: String, quantity: Option<u32>) -> Result<u64, RpcError>
///       The price of `item` in cents.
///   size: u32  (property)
/// ```
pub fn render(description: &Value) -> String {
    let text = |value: Option<&Value>| match value {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let Value::Object(fields) = description else {
        return String::new();
    };
    let mut out = format!("interface {}\n", text(fields.get("interface")));
    push_doc(&mut out, &text(fields.get("doc")), "  ");
    let members = match fields.get("members") {
        Some(Value::Array(members)) => members.as_slice(),
        _ => &[],
    };
    if !members.is_empty() {
        out.push('\n');
    }
    for member in members {
        let Value::Object(member) = member else {
            continue;
        };
        let name = text(member.get("name"));
        let kind = text(member.get("kind"));
        let result = text(member.get("result"));
        let params: Vec<String> = match member.get("params") {
            Some(Value::Array(params)) => params
                .iter()
                .filter_map(|p| match p {
                    Value::Object(p) => {
                        Some(format!("{}: {}", text(p.get("name")), text(p.get("type"))))
                    }
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let line = match kind.as_str() {
            "property" => format!("  {name}: {result}  (property)"),
            "invoke" => format!(
                "  {name}({}) -> {result}  (call the object itself)",
                params.join(", ")
            ),
            _ => format!("  {name}({}) -> {result}", params.join(", ")),
        };
        out.push_str(&line);
        out.push('\n');
        push_doc(&mut out, &text(member.get("doc")), "      ");
    }
    out
}

fn push_doc(out: &mut String, doc: &str, indent: &str) {
    for line in doc.lines() {
        out.push_str(indent);
        out.push_str(line);
        out.push('\n');
    }
}

/// The members' names, for completion.
pub fn member_names(description: &Value) -> Vec<String> {
    let Value::Object(fields) = description else {
        return Vec::new();
    };
    let Some(Value::Array(members)) = fields.get("members") else {
        return Vec::new();
    };
    members
        .iter()
        .filter_map(|m| match m {
            Value::Object(m) => match m.get("name") {
                Some(Value::String(name)) => Some(name.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}
