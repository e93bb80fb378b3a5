DROP TABLE channel_members;
DROP TABLE channels;
DROP TABLE users;
