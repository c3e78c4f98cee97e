PKGS += libcrypto
