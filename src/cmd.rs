//! One module per subcommand.

pub mod check;
pub mod compile;
pub mod test;

use qlp_compiler::policy_test::Engine;

/// `--engine jit|interp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineArg {
    Jit,
    Interp,
}

impl From<EngineArg> for Engine {
    fn from(engine: EngineArg) -> Engine {
        match engine {
            EngineArg::Jit => Engine::Jit,
            EngineArg::Interp => Engine::Interp,
        }
    }
}
