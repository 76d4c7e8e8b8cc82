#!/usr/bin/env bash
# Qt's libraries need a few system libraries; install the missing ones where we may (Debian).
set -euo pipefail
# poppler-utils: pdftotext, with which the tests read exported PDF reports;
# desktop-file-utils: desktop-file-validate, with which they check the .desktop entry.
# orthanc, orthanc-dicomweb: a real PACS (DICOMweb) that the PACS tests start on 127.0.0.1;
# dicom3tools: dciodvfy, with which they check the SEG and SR against the DICOM standard.
needed=(libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 fonts-dejavu-core
        poppler-utils desktop-file-utils orthanc orthanc-dicomweb dicom3tools
        mricron-data)  # Colin27 (ch2bet.nii.gz): an anatomy of the synthetic generator
missing=()
for pkg in "${needed[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "Please install these system packages for Qt: ${missing[*]}" >&2
fi
