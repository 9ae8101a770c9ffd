//! The gateway: the shop's public API over its services.

fn main() -> anyhow::Result<()> {
    split::gateway::main()
}
