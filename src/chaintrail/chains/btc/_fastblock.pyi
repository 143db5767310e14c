# Types of the optional C accelerator (_fastblock.c); see rawblock.parse_block.

def parse_block(
    data: bytes,
    verify_merkle: bool,
    derive_addresses: bool,
    p2pkh_version: int,
    p2sh_version: int,
    hrp: str,
    /,
) -> (
    tuple[
        str,
        str,
        str,
        int,
        int,
        int,
        int,
        int,
        bytes | None,
        bool,
        tuple[list[object], ...],
        tuple[list[object], ...],
        tuple[list[object], ...],
    ]
    | None
): ...
def classify_many(
    scripts: list[bytes], p2pkh_version: int, p2sh_version: int, hrp: str, /
) -> list[tuple[str, str | None]] | None: ...
def sha256(data: bytes, /) -> bytes: ...
def sha256d(data: bytes, /) -> bytes: ...
def ripemd160(data: bytes, /) -> bytes: ...
def hash160(data: bytes, /) -> bytes: ...
def sha256_backend() -> str: ...
def set_sha256_backend(name: str, /) -> bool: ...
