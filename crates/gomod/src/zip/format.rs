//! The zip container's numbers (APPNOTE.TXT), shared by the reader and the writer: record
//! signatures and lengths, the zip64 extra field's id, compression methods, versions and
//! flags.

pub(crate) const FILE_HEADER_SIGNATURE: u32 = 0x0403_4b50;
pub(crate) const DIRECTORY_HEADER_SIGNATURE: u32 = 0x0201_4b50;
pub(crate) const DIRECTORY_END_SIGNATURE: u32 = 0x0605_4b50;
pub(crate) const DIRECTORY64_LOC_SIGNATURE: u32 = 0x0706_4b50;
pub(crate) const DIRECTORY64_END_SIGNATURE: u32 = 0x0606_4b50;
pub(crate) const DATA_DESCRIPTOR_SIGNATURE: u32 = 0x0807_4b50;
pub(crate) const FILE_HEADER_LEN: usize = 30;
pub(crate) const DIRECTORY_HEADER_LEN: usize = 46;
pub(crate) const DIRECTORY_END_LEN: usize = 22;
pub(crate) const DIRECTORY64_LOC_LEN: usize = 20;
pub(crate) const DIRECTORY64_END_LEN: usize = 56;
pub(crate) const DATA_DESCRIPTOR_LEN: usize = 16;
pub(crate) const ZIP64_EXTRA_ID: u16 = 0x0001;

pub(crate) const METHOD_STORE: u16 = 0;
pub(crate) const METHOD_DEFLATE: u16 = 8;

/// Version 2.0: deflate, data descriptors.
pub(crate) const ZIP_VERSION_20: u16 = 20;
/// Version 4.5: zip64.
pub(crate) const ZIP_VERSION_45: u16 = 45;

/// General purpose flag: sizes and CRC in a data descriptor after the data.
pub(crate) const FLAG_DATA_DESCRIPTOR: u16 = 0x8;
/// General purpose flag: the name is UTF-8.
pub(crate) const FLAG_UTF8: u16 = 0x800;
