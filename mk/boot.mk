PKGS += libkmod libarchive libelf
