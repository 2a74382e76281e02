//! `capnweb repl URL`: the language line by line over one WebSocket session, with variables
//! (`let u = users.get(1)` keeps the capability), history and completion on a terminal, and
//! plain line reading otherwise (so scripts and tests can drive it through stdin).

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use tokio::runtime::{Handle, Runtime};

use crate::args::{ConnectArgs, Transport};
use crate::complete::{Completions, complete, receiver};
use crate::connect::{choose, connect};
use crate::eval::Scope;
use crate::expr::{Statement, parse_statement};
use crate::failure::Failure;

/// How long completion waits for a description it asks for.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(2);

const HELP: &str = "\
  users.get(1).name        evaluate and print (calls and reads are pipelined)
  let u = users.get(1)     keep the result (a capability stays one) as `u`
  u.profile()              use a variable
  .vars                    list the variables
  .complete TEXT           what Tab offers after TEXT (members from the server's $meta)
  .clear                   release every variable
  .exit                    release the variables and leave (or end of input)
  Arguments: JSON, 123n, date(ms), date(\"ISO\"), bytes(\"base64\"), undefined, variables.";

/// One REPL: its state and how it prints.
struct Repl {
    state: Arc<Mutex<State>>,
    timeout: Duration,
    colour: bool,
}

/// What the REPL and its completion share.
struct State {
    scope: Scope,
    /// Member names the server described (`$meta`), asked for when completion first needs
    /// them: for the main object, and by variable.
    main_members: Option<Vec<String>>,
    variable_members: BTreeMap<String, Vec<String>>,
}

impl State {
    /// Asks the server for the descriptions completing `line` at `pos` needs and does not
    /// have yet (blocking: called from the line editor, outside the runtime).
    fn learn(&mut self, runtime: &Handle, line: &str, pos: usize) {
        if self.main_members.is_none() {
            let meta = self.scope.main.call("$meta", ());
            self.main_members = Some(
                runtime
                    .block_on(described_members(meta))
                    .unwrap_or_default(),
            );
        }
        if let Some(name) = receiver(line, pos)
            && !self.variable_members.contains_key(name)
            && let Some(promise) = self.scope.variables.get(name)
        {
            let meta = promise.call("$meta", ());
            let members = runtime
                .block_on(described_members(meta))
                .unwrap_or_default();
            self.variable_members.insert(name.to_owned(), members);
        }
    }

    /// The candidates for the word at `pos`, after learning what is needed.
    fn complete(&mut self, runtime: &Handle, line: &str, pos: usize) -> (usize, Vec<String>) {
        self.learn(runtime, line, pos);
        let completions = Completions {
            main_members: self.main_members.clone().unwrap_or_default(),
            variables: self
                .scope
                .variables
                .keys()
                .map(|name| {
                    let members = self.variable_members.get(name).cloned();
                    (name.clone(), members.unwrap_or_default())
                })
                .collect(),
        };
        complete(line, pos, &completions)
    }
}

/// Runs the REPL until `.exit` or the end of input.
pub fn run(
    runtime: &Runtime,
    url: &str,
    connect_args: &ConnectArgs,
    colour: bool,
) -> Result<(), Failure> {
    if choose(url, connect_args.transport)?.0 == Transport::Batch {
        return Err(Failure::Usage(
            "the REPL needs a WebSocket (ws:// or wss://): an HTTP batch ends after one \
             request, and the capabilities in its variables with it"
                .into(),
        ));
    }
    let connection = runtime.block_on(connect(url, connect_args))?;
    let mut repl = Repl {
        state: Arc::new(Mutex::new(State {
            scope: Scope::new(connection.main()),
            main_members: None,
            variable_members: BTreeMap::new(),
        })),
        timeout: connect_args.timeout,
        colour,
    };
    if std::io::stdin().is_terminal() {
        repl.terminal(runtime)?;
    } else {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if repl.line(runtime, &line).is_break() {
                break;
            }
        }
    }
    // Releasing the variables queues their releases; closing writes them before the close.
    drop(repl);
    runtime.block_on(connection.close());
    Ok(())
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The member names `$meta` gives, if the server answers it in time.
async fn described_members(meta: capnweb_runtime::Promise) -> Option<Vec<String>> {
    let description = meta.timeout(DESCRIBE_TIMEOUT).await.ok()?;
    Some(crate::describe::member_names(&description))
}

impl Repl {
    /// Reads lines with rustyline: history (kept in ~/.capnweb_history) and completion.
    fn terminal(&mut self, runtime: &Runtime) -> Result<(), Failure> {
        let mut editor = Editor::<ReplHelper, DefaultHistory>::new()
            .map_err(|e| Failure::Other(format!("cannot start the line editor: {e}")))?;
        editor.set_helper(Some(ReplHelper {
            state: self.state.clone(),
            runtime: runtime.handle().clone(),
        }));
        let history = std::env::var_os("HOME")
            .map(|home| std::path::Path::new(&home).join(".capnweb_history"));
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        eprintln!("connected; .help for help, .exit or Ctrl-D to leave");
        loop {
            match editor.readline("capnweb> ") {
                Ok(line) => {
                    let _ = editor.add_history_entry(line.as_str());
                    if self.line(runtime, &line).is_break() {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(error) => {
                    eprintln!("capnweb: reading the line failed: {error}");
                    break;
                }
            }
        }
        if let Some(path) = &history {
            let _ = editor.save_history(path);
        }
        Ok(())
    }

    /// Runs one line; `Break` ends the REPL.
    fn line(&mut self, runtime: &Runtime, line: &str) -> ControlFlow<()> {
        let line = line.trim();
        match line {
            "" => {}
            ".exit" => return ControlFlow::Break(()),
            ".help" => println!("{HELP}"),
            ".vars" => {
                for name in lock(&self.state).scope.variables.keys() {
                    println!("{name}");
                }
            }
            ".clear" => {
                let mut state = lock(&self.state);
                state.scope.variables.clear();
                state.variable_members.clear();
            }
            _ if line.starts_with(".complete ") => {
                // What Tab offers, for scripts and editors without a terminal.
                let text = line[".complete ".len()..].trim_start();
                let (_, candidates) =
                    lock(&self.state).complete(runtime.handle(), text, text.len());
                println!("{}", candidates.join(" "));
            }
            _ if line.starts_with('.') => {
                eprintln!("capnweb: unknown command {line} (.help lists them)");
            }
            _ => match parse_statement(line) {
                Ok(statement) => runtime.block_on(self.statement(statement)),
                Err(error) => eprintln!("{}", error.pointing_into(line)),
            },
        }
        let _ = std::io::stdout().flush();
        ControlFlow::Continue(())
    }

    async fn statement(&mut self, statement: Statement) {
        let (name, chain) = match statement {
            Statement::Let(name, chain) => (Some(name), chain),
            Statement::Eval(chain) => (None, chain),
        };
        let evaluated = lock(&self.state).scope.eval(&chain);
        let promise = match evaluated {
            Ok(promise) => promise,
            Err(failure) => return eprintln!("{}", failure.report(false)),
        };
        // Awaiting a clone keeps the original, which holds the result for later calls.
        match (promise.clone().timeout(self.timeout).await, name) {
            (Ok(value), None) => println!("{}", crate::inspect::inspect(&value, self.colour)),
            (Ok(_), Some(name)) => {
                let mut state = lock(&self.state);
                state.variable_members.remove(&name);
                state.scope.variables.insert(name, promise);
            }
            (Err(error), _) => eprintln!("{}", Failure::from(error).report(false)),
        }
    }
}

/// rustyline's view of completion.
struct ReplHelper {
    state: Arc<Mutex<State>>,
    runtime: Handle,
}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(lock(&self.state).complete(&self.runtime, line, pos))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Validator for ReplHelper {}

impl Helper for ReplHelper {}
