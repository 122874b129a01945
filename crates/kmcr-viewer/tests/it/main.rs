mod assets;
