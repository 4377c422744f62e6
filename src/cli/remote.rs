//! The remote resolvers' arguments (`--model`, `--request-timeout`) and
//! their translation into [`dreamwork::resolve::anthropic`] and
//! [`dreamwork::resolve::dreams`] resolvers. The key and endpoint come from
//! `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL`, never from arguments (which
//! other users of the machine can read).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use clap::Args;

use dreamwork::CancelToken;
use dreamwork::resolve::anthropic::{self, AnthropicOptions, AnthropicResolver};
use dreamwork::resolve::dreams::{self, DreamsResolver};
use dreamwork::resolve::http::{ApiKey, Client, ClientConfig, DEFAULT_BASE_URL, HttpError};
use dreamwork::session::Session;
use dreamwork::store::Store;

/// Options of `--resolver anthropic` and `--resolver dreams`.
#[derive(Debug, Clone, Args)]
pub(crate) struct RemoteArgs {
    /// The model a remote resolver asks (default claude-sonnet-4-6).
    #[arg(long)]
    model: Option<String>,
    /// Seconds one request to the API may take before it is retried.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    request_timeout: u64,
}

impl RemoteArgs {
    fn client(&self, cancel: &CancelToken, dry_run: bool) -> Result<Client, Box<dyn std::error::Error>> {
        let mut config = match ClientConfig::from_env() {
            // A dry run sends nothing, so it needs no key: the client is
            // only there to name the resolver and batch the questions.
            Err(HttpError::MissingKey) if dry_run => {
                ClientConfig::new(DEFAULT_BASE_URL, ApiKey::new("dry-run").expect("a valid placeholder"))?
            }
            other => other?,
        };
        config.timeout = Duration::from_secs(self.request_timeout.max(1));
        Ok(Client::new(config, cancel.clone()))
    }

    /// The `anthropic` resolver (`dry_run`: no key needed).
    pub(crate) fn anthropic(
        &self,
        cancel: &CancelToken,
        dry_run: bool,
    ) -> Result<AnthropicResolver, Box<dyn std::error::Error>> {
        let model = self.model.clone().unwrap_or_else(|| anthropic::DEFAULT_MODEL.into());
        Ok(AnthropicResolver::new(
            self.client(cancel, dry_run)?,
            AnthropicOptions::default().with_model(model),
        ))
    }

    /// The `dreams` resolver, knowing the hosted ids of the Managed Agents
    /// sessions in `store` and in `extra`.
    pub(crate) fn dreams(
        &self,
        cancel: &CancelToken,
        dry_run: bool,
        store: &Path,
        extra: &[Session],
    ) -> Result<DreamsResolver, Box<dyn std::error::Error>> {
        let summaries = Store::open_read_only(store)?.sessions()?.summaries()?;
        let mut hosted: BTreeSet<String> =
            dreams::hosted_ids(summaries.iter().map(|s| (s.format, s.external_id.as_deref())));
        hosted.extend(dreams::hosted_ids(extra.iter().map(|s| (s.format, s.external_id.as_deref()))));
        let model = self.model.clone().unwrap_or_else(|| dreams::DEFAULT_MODEL.into());
        Ok(DreamsResolver::new(self.client(cancel, dry_run)?, model, hosted))
    }
}
