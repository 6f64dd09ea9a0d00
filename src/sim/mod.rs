//! The CCK simulator; its implementation lands in the next commit.

/// Arguments of `cck-operator sim`.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {}

pub async fn run(_args: SimArgs) -> Result<(), std::io::Error> {
    Err(std::io::Error::other("the simulator is not part of this build"))
}
