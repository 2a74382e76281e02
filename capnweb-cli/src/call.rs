//! `capnweb call URL EXPR`.

use capnweb_runtime::Value;

use crate::args::ConnectArgs;
use crate::connect::connect;
use crate::eval::Scope;
use crate::expr::{Statement, parse_statement};
use crate::failure::Failure;

/// Evaluates `expr` on the server at `url` and returns the result.
pub async fn call(url: &str, expr: &str, connect_args: &ConnectArgs) -> Result<Value, Failure> {
    let chain = match parse_statement(expr) {
        Ok(Statement::Eval(chain)) => chain,
        Ok(Statement::Let(..)) => {
            return Err(Failure::Usage(
                "`let` keeps a variable for later lines: use it in `capnweb repl`".into(),
            ));
        }
        Err(error) => return Err(Failure::Usage(error.pointing_into(expr))),
    };
    let connection = connect(url, connect_args).await?;
    let scope = Scope::new(connection.main());
    let result = match scope.eval(&chain) {
        Ok(promise) => promise
            .timeout(connect_args.timeout)
            .await
            .map_err(Failure::from),
        Err(failure) => Err(failure),
    };
    drop(scope);
    connection.close().await;
    result
}

/// The text printed for a result: JavaScript-style, or JSON.
pub fn render(value: &Value, json: bool, colour: bool) -> String {
    if json {
        crate::json::to_json(value).to_string()
    } else {
        crate::inspect::inspect(value, colour)
    }
}
