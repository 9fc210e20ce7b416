//! Secret `<name>-db`: the connection settings the API reads as environment variables.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;

use super::SecretValue;
use crate::crd::{Bookstore, DatabaseSpec};

/// `<name>-db`.
pub const SECRET_SUFFIX: &str = "-db";

pub fn secret_name(bookstore: &Bookstore) -> String {
    format!("{}{SECRET_SUFFIX}", bookstore.name_any())
}

pub fn database_secret(
    bookstore: &Bookstore,
    database: &DatabaseSpec,
    password: &SecretValue,
) -> Secret {
    let text = |value: &str| ByteString(value.as_bytes().to_vec());
    Secret {
        metadata: super::metadata(bookstore, secret_name(bookstore)),
        type_: Some("Opaque".to_owned()),
        data: Some(BTreeMap::from([
            ("DB_HOST".to_owned(), text(&database.host)),
            ("DB_PORT".to_owned(), text(&database.port.to_string())),
            ("DB_NAME".to_owned(), text(&database.name)),
            ("DB_USER".to_owned(), text(&database.user)),
            (
                "DB_PASSWORD".to_owned(),
                ByteString(password.bytes().to_vec()),
            ),
        ])),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{bookstore, with_database};
    use super::*;

    #[test]
    fn holds_the_connection_settings_and_the_copied_password() {
        let shop = bookstore(with_database());
        let password = SecretValue::new(b"s3cret".to_vec());
        let secret = database_secret(&shop, shop.database().expect("database"), &password);
        assert_eq!(secret.metadata.name.as_deref(), Some("shop-db"));
        let data = secret.data.expect("data");
        let value = |key: &str| String::from_utf8(data[key].0.clone()).expect("utf-8");
        assert_eq!(value("DB_HOST"), "db.example.internal");
        assert_eq!(value("DB_PORT"), "3306");
        assert_eq!(value("DB_NAME"), "bookstore");
        assert_eq!(value("DB_USER"), "app");
        assert_eq!(value("DB_PASSWORD"), "s3cret");
    }
}
