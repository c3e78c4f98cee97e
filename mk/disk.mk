PKGS += fdisk blkid
