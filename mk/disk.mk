PKGS += fdisk blkid
PKGS += libcryptsetup
