//! The identity provider's settings (`OIDC_*`), and which sign-in methods are on
//! (`PASSWORD_LOGIN`, `BREAK_GLASS_ADMIN`), read and checked once at start with one-line
//! errors naming the variable.

use common::{
    Role,
    config::{ConfigError, Source, flag},
};
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::url::{Host, Url};
use std::time::Duration;

/// How the gateway talks to the identity provider.
#[derive(Clone)]
pub struct OidcSettings {
    /// `OIDC_ISSUER`: the provider's issuer URL, as its discovery document states it.
    pub issuer: String,
    /// `OIDC_CLIENT_ID`.
    pub client_id: String,
    /// `OIDC_CLIENT_SECRET`: unset for a public client (PKCE alone).
    pub client_secret: Option<String>,
    /// `OIDC_REDIRECT_URL`: this gateway's `/auth/oidc/callback` as the browser reaches it.
    pub redirect_url: Url,
    /// `OIDC_POST_LOGOUT_REDIRECT_URL`: where the provider sends the browser after signing
    /// out (default: the redirect URL's origin, `/`).
    pub post_logout_redirect_url: Url,
    /// `OIDC_SCOPES`: asked for besides `openid` (default `email profile`).
    pub scopes: Vec<String>,
    /// `OIDC_DISPLAY_NAME`: the provider's name on the sign-in button.
    pub display_name: String,
    /// `OIDC_SIGNING_ALGS`: the ID token signature algorithms accepted.
    pub algorithms: Vec<CoreJwsSigningAlgorithm>,
    /// `OIDC_TRUST_EMAIL`: accept `email` without `email_verified: true` (a provider whose
    /// emails are all its own verified accounts, such as Entra ID).
    pub trust_email: bool,
    /// `OIDC_CREATE_USERS`: create a user at the first sign-in of a verified email Tessera
    /// does not know (off: such people are refused).
    pub create_users: bool,
    /// `OIDC_NEW_USER_ROLES`: the roles of users created at sign-in when no group mapping is
    /// configured.
    pub new_user_roles: Vec<Role>,
    /// `OIDC_GROUPS_CLAIM` + `OIDC_ROLE_MAP`: roles from the provider's groups.
    pub groups: Option<GroupRoles>,
    /// How far the provider's clock may be ahead of ours (ID token expiry).
    pub clock_skew: Duration,
    /// The least time between two refetches of the provider's keys that an ID token naming
    /// an unknown key causes, so nobody can make the gateway fetch in a loop.
    pub keys_refetch_floor: Duration,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url.as_str())
            .finish_non_exhaustive()
    }
}

/// Roles from a claim of the ID token listing the person's groups, applied at every sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRoles {
    /// The claim's name (`groups`; Entra ID and Keycloak both call it that).
    pub claim: String,
    /// Each group and the role it gives; a group may appear more than once.
    pub map: Vec<(String, Role)>,
}

impl GroupRoles {
    /// The roles `groups` give, sorted, without duplicates.
    pub fn roles<'a>(&self, groups: impl IntoIterator<Item = &'a str>) -> Vec<Role> {
        let groups: Vec<&str> = groups.into_iter().collect();
        let mut roles: Vec<Role> = self
            .map
            .iter()
            .filter(|(group, _)| groups.contains(&group.as_str()))
            .map(|(_, role)| *role)
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

/// Which ways in are open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInMethods {
    /// `PASSWORD_LOGIN` (default on): off leaves only the identity provider and the
    /// break-glass administrator.
    pub password: bool,
    /// `BREAK_GLASS_ADMIN`: the one ADMIN (by email, lowercase) who may still sign in with a
    /// password when `PASSWORD_LOGIN` is off.
    pub break_glass: Option<String>,
}

impl SignInMethods {
    /// Whether `email` may sign in with a password.
    pub fn password_allowed(&self, email: &str) -> bool {
        self.password
            || self
                .break_glass
                .as_deref()
                .is_some_and(|admin| admin == email.trim().to_lowercase())
    }
}

/// The algorithms accepted when `OIDC_SIGNING_ALGS` is unset: every asymmetric one the
/// library verifies. Shared-secret (HS*) signatures only when named.
const DEFAULT_ALGS: &str = "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,EdDSA";

/// `OIDC_*`: `None` without `OIDC_ISSUER`.
pub fn oidc<S: Source + ?Sized>(source: &S) -> Result<Option<OidcSettings>, ConfigError> {
    let Some(issuer) = source.get("OIDC_ISSUER") else {
        for var in ["OIDC_CLIENT_ID", "OIDC_REDIRECT_URL", "OIDC_CLIENT_SECRET"] {
            if source.get(var).is_some() {
                return Err(ConfigError::new(var, "set without OIDC_ISSUER"));
            }
        }
        return Ok(None);
    };
    let issuer = issuer.trim().trim_end_matches('/').to_string();
    provider_url(&issuer, "OIDC_ISSUER")?;
    let client_id = source
        .get("OIDC_CLIENT_ID")
        .ok_or_else(|| ConfigError::new("OIDC_CLIENT_ID", "must be set with OIDC_ISSUER"))?;
    let redirect = source
        .get("OIDC_REDIRECT_URL")
        .ok_or_else(|| ConfigError::new("OIDC_REDIRECT_URL", "must be set with OIDC_ISSUER"))?;
    let redirect_url = provider_url(redirect.trim(), "OIDC_REDIRECT_URL")?;
    let post_logout_redirect_url = match source.get("OIDC_POST_LOGOUT_REDIRECT_URL") {
        Some(url) => provider_url(url.trim(), "OIDC_POST_LOGOUT_REDIRECT_URL")?,
        None => redirect_url
            .join("/")
            .map_err(|e| ConfigError::new("OIDC_REDIRECT_URL", format!("expected a URL: {e}")))?,
    };
    let scopes = source
        .get("OIDC_SCOPES")
        .unwrap_or_else(|| "email profile".to_string())
        .split([' ', ','])
        .filter(|s| !s.is_empty() && *s != "openid")
        .map(str::to_string)
        .collect();
    let new_user_roles = roles(source, "OIDC_NEW_USER_ROLES")?;
    Ok(Some(OidcSettings {
        issuer,
        client_id,
        client_secret: source.get("OIDC_CLIENT_SECRET"),
        redirect_url,
        post_logout_redirect_url,
        scopes,
        display_name: source
            .get("OIDC_DISPLAY_NAME")
            .map_or_else(|| "your identity provider".to_string(), |n| n.trim().into()),
        algorithms: algorithms(source)?,
        trust_email: flag(source, "OIDC_TRUST_EMAIL", false)?,
        create_users: flag(source, "OIDC_CREATE_USERS", false)?,
        new_user_roles,
        groups: groups(source)?,
        clock_skew: Duration::from_secs(60),
        keys_refetch_floor: Duration::from_secs(60),
    }))
}

/// `PASSWORD_LOGIN` and `BREAK_GLASS_ADMIN`. Turning passwords off needs a provider, so
/// nobody is left without a way in.
pub fn methods<S: Source + ?Sized>(
    source: &S,
    oidc: Option<&OidcSettings>,
) -> Result<SignInMethods, ConfigError> {
    let password = flag(source, "PASSWORD_LOGIN", true)?;
    if !password && oidc.is_none() {
        return Err(ConfigError::new(
            "PASSWORD_LOGIN",
            "off needs an identity provider (OIDC_ISSUER)",
        ));
    }
    let break_glass = source
        .get("BREAK_GLASS_ADMIN")
        .map(|e| e.trim().to_lowercase());
    if break_glass.as_ref().is_some_and(|e| !e.contains('@')) {
        return Err(ConfigError::new(
            "BREAK_GLASS_ADMIN",
            "expected an email address",
        ));
    }
    Ok(SignInMethods {
        password,
        break_glass,
    })
}

/// An `http(s)` URL; plain `http` only on a loopback host (a provider or gateway on this
/// machine, as in tests and development), since codes and tokens cross it.
fn provider_url(raw: &str, var: &'static str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::new(var, format!("expected a URL: {e}")))?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(ConfigError::new(
            var,
            "must be https:// (http:// only for a loopback address)",
        )),
        _ => Err(ConfigError::new(var, "expected an https:// URL")),
    }
}

/// `OIDC_SIGNING_ALGS`: comma-separated JOSE names; never `none`.
fn algorithms<S: Source + ?Sized>(source: &S) -> Result<Vec<CoreJwsSigningAlgorithm>, ConfigError> {
    let raw = source
        .get("OIDC_SIGNING_ALGS")
        .unwrap_or_else(|| DEFAULT_ALGS.to_string());
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            let alg = serde_json::from_value::<CoreJwsSigningAlgorithm>(name.into()).ok();
            match alg {
                Some(CoreJwsSigningAlgorithm::None) | None => Err(ConfigError::new(
                    "OIDC_SIGNING_ALGS",
                    format!("`{name}` is not a signature algorithm (e.g. RS256,ES256)"),
                )),
                Some(alg) => Ok(alg),
            }
        })
        .collect()
}

/// A comma-separated list of role names.
fn roles<S: Source + ?Sized>(source: &S, var: &'static str) -> Result<Vec<Role>, ConfigError> {
    let mut roles = Vec::new();
    for name in source.get(var).unwrap_or_default().split(',') {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        roles.push(name.parse().map_err(|_| {
            ConfigError::new(
                var,
                format!("`{name}` is not a role (e.g. FACULTY,GRAD_OFFICE)"),
            )
        })?);
    }
    Ok(roles)
}

/// `OIDC_GROUPS_CLAIM` + `OIDC_ROLE_MAP` (`group=ROLE,group=ROLE`): both or neither.
fn groups<S: Source + ?Sized>(source: &S) -> Result<Option<GroupRoles>, ConfigError> {
    let (claim, map) = match (source.get("OIDC_GROUPS_CLAIM"), source.get("OIDC_ROLE_MAP")) {
        (None, None) => return Ok(None),
        (Some(claim), Some(map)) => (claim.trim().to_string(), map),
        (Some(_), None) => {
            return Err(ConfigError::new(
                "OIDC_ROLE_MAP",
                "must be set with OIDC_GROUPS_CLAIM",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "OIDC_GROUPS_CLAIM",
                "must be set with OIDC_ROLE_MAP",
            ));
        }
    };
    let mut pairs = Vec::new();
    for entry in map.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let parsed = entry
            .rsplit_once('=')
            .and_then(|(group, role)| Some((group.trim(), role.trim().parse().ok()?)))
            .filter(|(group, _)| !group.is_empty());
        let Some((group, role)) = parsed else {
            return Err(ConfigError::new(
                "OIDC_ROLE_MAP",
                format!("expected group=ROLE pairs separated by commas, got `{entry}`"),
            ));
        };
        pairs.push((group.to_string(), role));
    }
    Ok(Some(GroupRoles { claim, map: pairs }))
}

#[cfg(test)]
mod tests;
