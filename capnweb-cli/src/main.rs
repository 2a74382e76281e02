//! The `capnweb` command; everything is in the library (`capnweb_cli`).

fn main() -> std::process::ExitCode {
    capnweb_cli::main()
}
