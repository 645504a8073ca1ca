//! "Does it answer?" checks without a Kafka or HTTP client library: a Kafka
//! `ApiVersions` round trip and a plain HTTP/1.1 `GET`.

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(2);
const CORRELATION_ID: i32 = 0x6b62_7267; // "kbrg"

fn connect(addr: &str) -> Result<TcpStream> {
    let sock = addr
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {addr}"))?
        .next()
        .with_context(|| format!("{addr} resolves to no address"))?;
    let stream = TcpStream::connect_timeout(&sock, TIMEOUT)
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    Ok(stream)
}

/// Send `ApiVersions` v0 to a Kafka-protocol broker at `addr` and return how
/// many APIs it advertises. Errors when it does not answer like a broker.
pub fn kafka_api_versions(addr: &str) -> Result<usize> {
    let client_id = b"xtask";
    let mut body = Vec::with_capacity(16);
    body.extend_from_slice(&18i16.to_be_bytes()); // api key: ApiVersions
    body.extend_from_slice(&0i16.to_be_bytes()); // api version 0
    body.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    body.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    body.extend_from_slice(client_id);
    let mut request = (body.len() as i32).to_be_bytes().to_vec();
    request.extend_from_slice(&body);

    let mut stream = connect(addr)?;
    stream.write_all(&request)?;
    let mut len = [0u8; 4];
    stream
        .read_exact(&mut len)
        .with_context(|| format!("{addr} closed the connection without an ApiVersions answer"))?;
    let len = i32::from_be_bytes(len);
    if !(10..=1 << 20).contains(&len) {
        bail!("{addr} answered ApiVersions with an implausible frame length {len}");
    }
    let mut frame = vec![0u8; len as usize];
    stream.read_exact(&mut frame)?;
    parse_api_versions_v0(&frame).with_context(|| format!("bad ApiVersions answer from {addr}"))
}

fn parse_api_versions_v0(frame: &[u8]) -> Result<usize> {
    let field = |at: usize, n: usize| frame.get(at..at + n).context("frame too short");
    let correlation = i32::from_be_bytes(field(0, 4)?.try_into()?);
    if correlation != CORRELATION_ID {
        bail!("correlation id {correlation} does not match the request");
    }
    let error = i16::from_be_bytes(field(4, 2)?.try_into()?);
    if error != 0 {
        bail!("error code {error}");
    }
    let count = i32::from_be_bytes(field(6, 4)?.try_into()?);
    usize::try_from(count).context("negative api count")
}

/// `GET url` over HTTP/1.1 and return the status code (only `http://`).
pub fn http_status(url: &str) -> Result<u16> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("only http:// URLs can be probed, got {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut stream = connect(&addr)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 64];
    let mut filled = 0;
    while filled < 12 {
        let n = stream.read(&mut head[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    parse_status_line(&head[..filled]).with_context(|| format!("no HTTP answer from {url}"))
}

fn parse_status_line(head: &[u8]) -> Result<u16> {
    let text = std::str::from_utf8(head).unwrap_or("");
    let mut parts = text.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => Ok(code.parse()?),
        _ => bail!("not an HTTP status line"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn api_versions_answer_is_parsed_and_checked() {
        let mut frame = CORRELATION_ID.to_be_bytes().to_vec();
        frame.extend_from_slice(&0i16.to_be_bytes());
        frame.extend_from_slice(&3i32.to_be_bytes());
        assert_eq!(parse_api_versions_v0(&frame).unwrap(), 3);

        frame[5] = 35; // UNSUPPORTED_VERSION
        assert_eq!(
            parse_api_versions_v0(&frame).unwrap_err().to_string(),
            "error code 35"
        );
        assert!(parse_api_versions_v0(&frame[..5]).is_err());
    }

    #[test]
    fn http_probe_reads_the_status_code() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            // the request may arrive in several pieces: read to the blank line
            let mut raw = Vec::new();
            let mut buf = [0u8; 512];
            while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&buf[..n]);
            }
            let request = String::from_utf8_lossy(&raw).into_owned();
            conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
            request
        });
        let code = http_status(&format!("http://127.0.0.1:{port}/subjects")).unwrap();
        assert_eq!(code, 404);
        assert!(
            server
                .join()
                .unwrap()
                .starts_with("GET /subjects HTTP/1.1\r\n")
        );
    }

    #[test]
    fn non_http_answers_are_rejected() {
        assert!(parse_status_line(b"SSH-2.0-OpenSSH").is_err());
        assert_eq!(parse_status_line(b"HTTP/1.0 200 OK").unwrap(), 200);
    }
}
