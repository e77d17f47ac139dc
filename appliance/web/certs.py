"""A self-signed certificate for the box's HTTPS (phones allow camera and microphone only on
secure origins). Made at first start and kept in the box's data folder, never in git."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALID_DAYS = 3650


def ensure_certificate(folder: Path, hosts: list[str]) -> tuple[Path, Path]:
    """(certificate, key) in ``folder``; made (or made again, when the hosts changed) as needed."""
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path, hosts_path = folder / "cert.pem", folder / "key.pem", folder / "hosts"
    wanted = "\n".join(sorted(set(hosts)))
    made = cert_path.exists() and key_path.exists() and hosts_path.exists()
    if made and hosts_path.read_text() == wanted:
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in sorted(set(hosts)):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "piano")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    hosts_path.write_text(wanted)
    return cert_path, key_path
