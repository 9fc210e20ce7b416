// Where the page finds the API. Empty: the same origin that served the page (bookstore-api
// serves both). When the page is hosted elsewhere (S3 + CloudFront), deployment replaces this file
// with the API's public URL, e.g. window.BOOKSTORE_API_URL = "https://api.example.com";
window.BOOKSTORE_API_URL = window.BOOKSTORE_API_URL || "";
