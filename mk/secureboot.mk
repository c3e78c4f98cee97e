# keystone secureboot: X.509, PKCS#7, EVP from OpenSSL
PKGS += libcrypto
