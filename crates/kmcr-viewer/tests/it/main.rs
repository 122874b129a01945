mod assets;
mod record;
