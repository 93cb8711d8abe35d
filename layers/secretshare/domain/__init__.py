"""The pure core: what secretshare decides, without the AWS SDK. Imports nothing else of the library."""
