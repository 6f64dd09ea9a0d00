//! Dereferencing what a pool's spec points at: the credentials Secret, the node password
//! Secret and the boot script (inline, ConfigMap or Secret). Errors say which object and
//! key is missing and how to fix it; values are never logged or put in messages.

use base64::Engine as _;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;

use crate::api::v1alpha1::{BootScript, CckNodePoolSpec, SecretKeyRef};
use crate::cck::{Credentials, Sensitive};

/// Keys of a credentials Secret.
pub const ACCESS_KEY_ID_KEY: &str = "accessKeyId";
pub const ACCESS_KEY_SECRET_KEY: &str = "accessKeySecret";

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{kind} {namespace}/{name} does not exist; create it{hint}")]
    Missing {
        kind: &'static str,
        namespace: String,
        name: String,
        hint: String,
    },
    #[error("{kind} {namespace}/{name} has no key {key:?}{hint}")]
    KeyMissing {
        kind: &'static str,
        namespace: String,
        name: String,
        key: String,
        hint: String,
    },
    #[error("{kind} {namespace}/{name} key {key:?} is not valid UTF-8 text")]
    NotText {
        kind: &'static str,
        namespace: String,
        name: String,
        key: String,
    },
    #[error(
        "the pool has no credentialsSecretRef and the operator has no credentials of its own (CCK_ACCESS_KEY_ID / CCK_ACCESS_KEY_SECRET)"
    )]
    NoCredentials,
    #[error("reading {kind} {namespace}/{name}: {source}")]
    Kube {
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
}

impl InputError {
    /// The condition reason for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            InputError::NoCredentials => "CredentialsUnavailable",
            InputError::Kube { .. } => "ReferenceUnreadable",
            _ => "ReferenceInvalid",
        }
    }
}

async fn secret_value(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    key: &str,
    hint: &str,
) -> Result<String, InputError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = match api.get_opt(name).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(InputError::Missing {
                kind: "Secret",
                namespace: namespace.into(),
                name: name.into(),
                hint: hint.into(),
            });
        }
        Err(source) => {
            return Err(InputError::Kube {
                kind: "Secret",
                namespace: namespace.into(),
                name: name.into(),
                source,
            });
        }
    };
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|s| s.clone().into_bytes())
        })
        .ok_or_else(|| InputError::KeyMissing {
            kind: "Secret",
            namespace: namespace.into(),
            name: name.into(),
            key: key.into(),
            hint: hint.into(),
        })?;
    let text = String::from_utf8(bytes).map_err(|_| InputError::NotText {
        kind: "Secret",
        namespace: namespace.into(),
        name: name.into(),
        key: key.into(),
    })?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// The credentials for a pool: its Secret when it names one, else the operator's own.
pub async fn credentials(
    client: &kube::Client,
    namespace: &str,
    spec: &CckNodePoolSpec,
    operator_default: Option<&Credentials>,
) -> Result<Credentials, InputError> {
    let Some(r) = &spec.credentials_secret_ref else {
        return operator_default.cloned().ok_or(InputError::NoCredentials);
    };
    let hint = format!(
        " with the keys {ACCESS_KEY_ID_KEY} and {ACCESS_KEY_SECRET_KEY} (kubectl create secret generic {} --from-literal={ACCESS_KEY_ID_KEY}=... --from-literal={ACCESS_KEY_SECRET_KEY}=...)",
        r.name
    );
    let id = secret_value(client, namespace, &r.name, ACCESS_KEY_ID_KEY, &hint).await?;
    let secret = secret_value(client, namespace, &r.name, ACCESS_KEY_SECRET_KEY, &hint).await?;
    Ok(Credentials::new(id, secret))
}

/// The node password.
pub async fn password(
    client: &kube::Client,
    namespace: &str,
    r: &SecretKeyRef,
) -> Result<Sensitive, InputError> {
    let hint = format!(
        " with the node password under the key {} (kubectl create secret generic {} --from-literal={}=...)",
        r.key, r.name, r.key
    );
    Ok(Sensitive::new(
        secret_value(client, namespace, &r.name, &r.key, &hint).await?,
    ))
}

/// The boot script, base64-encoded as CreateClusterNodes' `Command` wants it.
pub async fn boot_script(
    client: &kube::Client,
    namespace: &str,
    script: Option<&BootScript>,
) -> Result<Option<String>, InputError> {
    let Some(s) = script else {
        return Ok(None);
    };
    let text = if let Some(inline) = &s.inline {
        inline.clone()
    } else if let Some(r) = &s.secret_key_ref {
        secret_value(client, namespace, &r.name, &r.key, "").await?
    } else if let Some(r) = &s.config_map_key_ref {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
        let cm = api
            .get_opt(&r.name)
            .await
            .map_err(|source| InputError::Kube {
                kind: "ConfigMap",
                namespace: namespace.into(),
                name: r.name.clone(),
                source,
            })?
            .ok_or_else(|| InputError::Missing {
                kind: "ConfigMap",
                namespace: namespace.into(),
                name: r.name.clone(),
                hint: format!(" with the boot script under the key {}", r.key),
            })?;
        cm.data
            .as_ref()
            .and_then(|d| d.get(&r.key))
            .cloned()
            .ok_or_else(|| InputError::KeyMissing {
                kind: "ConfigMap",
                namespace: namespace.into(),
                name: r.name.clone(),
                key: r.key.clone(),
                hint: String::new(),
            })?
    } else {
        return Ok(None);
    };
    Ok(Some(base64::engine::general_purpose::STANDARD.encode(text)))
}
