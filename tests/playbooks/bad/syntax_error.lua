-- check: a file that does not compile
return {
  name = "syntax_error",
