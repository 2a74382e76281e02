//! Turning a parsed chain into pipelined calls: nothing is awaited until the whole chain has
//! been sent, so `users.get(1).profile().name` is one round trip.

use std::collections::BTreeMap;

use capnweb_runtime::value::{BigInt, Bytes, Date, PropertyKey};
use capnweb_runtime::{Promise, Stub, Value};

use crate::expr::{Chain, Literal, Step};
use crate::failure::Failure;

/// The main object and the variables of a REPL (none for `call`).
pub struct Scope {
    /// The server's main object.
    pub main: Stub,
    /// Results kept with `let`, by name.
    pub variables: BTreeMap<String, Promise>,
}

/// Where calls and reads go: the main object or an earlier result.
enum Subject {
    Stub(Stub),
    Promise(Promise),
}

impl Subject {
    fn call(&self, path: &[PropertyKey], args: Vec<Value>) -> Promise {
        match self {
            Subject::Stub(stub) => stub.call_path(path, args),
            Subject::Promise(promise) => promise.call_path(path, args),
        }
    }

    fn get(&self, path: &[PropertyKey]) -> Promise {
        match self {
            Subject::Stub(stub) => stub.get_path(path),
            Subject::Promise(promise) => promise.get_path(path),
        }
    }
}

impl Scope {
    /// A scope with no variables.
    pub fn new(main: Stub) -> Scope {
        Scope {
            main,
            variables: BTreeMap::new(),
        }
    }

    /// Sends the chain's calls and reads (pipelined) and returns the promise of its value.
    pub fn eval(&self, chain: &Chain) -> Result<Promise, Failure> {
        let (mut subject, mut path) = match self.variables.get(&chain.head) {
            Some(promise) => (Subject::Promise(promise.clone()), Vec::new()),
            None => (
                Subject::Stub(self.main.clone()),
                vec![PropertyKey::Name(chain.head.clone())],
            ),
        };
        for step in &chain.steps {
            match step {
                Step::Get(key) => path.push(key.clone()),
                Step::Call(args) => {
                    let args = args
                        .iter()
                        .map(|arg| self.value(arg))
                        .collect::<Result<Vec<_>, _>>()?;
                    subject = Subject::Promise(subject.call(&path, args));
                    path.clear();
                }
            }
        }
        Ok(match (subject, path.is_empty()) {
            (Subject::Promise(promise), true) => promise,
            (subject, _) => subject.get(&path),
        })
    }

    /// The value of an argument; chains become promises, pipelined.
    pub fn value(&self, literal: &Literal) -> Result<Value, Failure> {
        Ok(match literal {
            Literal::Undefined => Value::Undefined,
            Literal::Null => Value::Null,
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Number(n) => Value::Number(*n),
            Literal::BigInt(digits) => Value::BigInt(
                digits
                    .parse::<BigInt>()
                    .map_err(|e| Failure::Usage(e.message()))?,
            ),
            Literal::String(s) => Value::String(s.clone()),
            Literal::Date(ms) => Value::Date(Date::from_millis(*ms)),
            Literal::Bytes(data) => Value::Bytes(Bytes::new(data.clone())),
            Literal::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.value(item))
                    .collect::<Result<_, _>>()?,
            ),
            Literal::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, value)| Ok((key.clone(), self.value(value)?)))
                    .collect::<Result<_, Failure>>()?,
            ),
            Literal::Chain(chain) => Value::Promise(self.eval(chain)?),
        })
    }
}
