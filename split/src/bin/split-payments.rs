//! The payments service.

fn main() -> anyhow::Result<()> {
    split::service::main(shop_domain::Component::Payments)
}
