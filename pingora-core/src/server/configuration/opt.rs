//! The command line every server program accepts.

use clap::Parser;
use std::ffi::OsString;

/// Command line options of a server program.
///
/// ```
/// use pingora_core::server::configuration::Opt;
///
/// let opt = Opt::parse_from_args(["my-proxy", "-d", "-c", "/etc/proxy.yaml"]);
/// assert!(opt.daemon);
/// assert_eq!(opt.conf.as_deref(), Some("/etc/proxy.yaml"));
/// assert!(!opt.upgrade);
/// ```
#[derive(Parser, Debug, Default, Clone, PartialEq, Eq)]
#[command(about, long_about = None)]
pub struct Opt {
    /// Take over the listening sockets of a running server (graceful upgrade).
    ///
    /// The new process receives the sockets over `upgrade_sock` before it binds anything.
    #[arg(short, long)]
    pub upgrade: bool,

    /// Run in the background as a daemon.
    #[arg(short, long)]
    pub daemon: bool,

    /// Accepted and ignored, so that `cargo test -- --nocapture` style runners do not fail.
    #[arg(long, hide = true)]
    pub nocapture: bool,

    /// Load and validate the configuration, print it, and exit (0 if valid, 1 if not).
    #[arg(short, long)]
    pub test: bool,

    /// Path of the YAML configuration file.
    #[arg(short, long)]
    pub conf: Option<String>,
}

impl Opt {
    /// Parses the process command line; prints help or an error and exits on bad input.
    pub fn parse_args() -> Self {
        Opt::parse()
    }

    /// Parses the given arguments (the first one is the program name).
    ///
    /// Prints help or an error and exits on bad input, like [`Opt::parse_args`].
    pub fn parse_from_args<I, T>(args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Opt::parse_from(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_flags_are_parsed() {
        let opt = Opt::parse_from_args(["p", "-u", "-d", "-t", "-c", "a.yaml"]);
        assert!(opt.upgrade && opt.daemon && opt.test);
        assert_eq!(opt.conf.as_deref(), Some("a.yaml"));
        let opt =
            Opt::parse_from_args(["p", "--upgrade", "--daemon", "--test", "--conf", "b.yaml"]);
        assert!(opt.upgrade && opt.daemon && opt.test);
        assert_eq!(opt.conf.as_deref(), Some("b.yaml"));
    }

    #[test]
    fn nocapture_is_accepted_and_no_flag_means_defaults() {
        let opt = Opt::parse_from_args(["p", "--nocapture"]);
        assert!(opt.nocapture);
        assert_eq!(Opt::parse_from_args(["p"]), Opt::default());
    }

    #[test]
    fn unknown_flag_is_an_error() {
        assert!(Opt::try_parse_from(["p", "--no-such-flag"]).is_err());
    }
}
