//! The users service.

fn main() -> anyhow::Result<()> {
    split::service::main(shop_domain::Component::Users)
}
